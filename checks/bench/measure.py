"""The measurements: each one a fresh subprocess or server start, timed from outside.

Floor, verify and pytest-alembic run as a user would run them, in a new Python process,
so interpreter start and imports count for everyone alike. Each gets fresh databases on
the same server, so no run benefits from another's leftovers.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from checks.bench.project import GeneratedProject
from checks.bench.steps import Step, read_steps, summarize
from checks.errors import VerifyError
from checks.progress import STEP_TIMES_ENV
from harness.server import Server


@dataclass
class Measurement:
    name: str
    runs: list[float] = field(default_factory=list)
    parts: dict[str, list[float]] = field(default_factory=dict)  # stage or test -> seconds per run
    skipped: str | None = None
    peak_rss_mb: list[float] = field(default_factory=list)  # per run, of the measured process tree
    # Runs whose split round trip fell back at the seam (walked on here, or in one go), of
    # those that split: None where the command has no round trip of ours.
    fallbacks: tuple[int, int] | None = None
    steps: list[Step] = field(default_factory=list)  # every run's, where the command writes them

    @property
    def rss_mb(self) -> float | None:
        return max(self.peak_rss_mb) if self.peak_rss_mb else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.runs) if self.runs else None

    def part_medians(self) -> dict[str, float]:
        return {name: statistics.median(values) for name, values in self.parts.items()}

    def absorb(self, other: Measurement) -> None:
        self.runs += other.runs
        self.peak_rss_mb += other.peak_rss_mb
        self.skipped = self.skipped or other.skipped
        if other.fallbacks is not None:
            fell, split = self.fallbacks or (0, 0)
            self.fallbacks = (fell + other.fallbacks[0], split + other.fallbacks[1])
        for name, values in other.parts.items():
            self.parts.setdefault(name, []).extend(values)
        self.steps += other.steps

    def to_json(self, positions: dict[str, int] | None = None) -> dict:
        """`positions`: each revision's place in the history, for the slowest steps."""
        if self.skipped:
            return {"skipped": self.skipped}
        steps = summarize(self.steps)
        return {"median_s": round(self.median, 3), "runs_s": [round(r, 3) for r in self.runs],
                **({"peak_rss_mb": round(self.rss_mb, 1)} if self.rss_mb else {}),
                **({"split_fallbacks": self.fallbacks[0], "split_runs": self.fallbacks[1]}
                   if self.fallbacks is not None else {}),
                **({"parts_median_s": {k: round(v, 3) for k, v in self.part_medians().items()}}
                   if self.parts else {}),
                **({"steps": steps.to_json(positions or {})} if steps else {})}


class BenchError(VerifyError):
    """A measured command failed: its timing would mean nothing."""


def server_url(server: Server, database: str) -> str:
    return server.url(database).render_as_string(hide_password=False)


def run_command(cmd: list[str], what: str, cwd: Path | None = None, env: dict | None = None,
         into: Measurement | None = None) -> float:
    """Run `cmd` to the end; its wall time, and its peak memory into `into`."""
    with tempfile.TemporaryFile("w+") as output:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=output, stderr=subprocess.STDOUT, text=True, cwd=cwd,
                                env={**os.environ, **(env or {})})
        # wait4, not Popen.wait: it also returns this child's own resource usage, whose
        # ru_maxrss (KiB on Linux) is the peak of the child and the children it waited for.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            output.seek(0)
            tail = "\n    ".join(output.read().strip().splitlines()[-15:])
            raise BenchError(f"{what} failed (exit {proc.returncode}): {' '.join(cmd)}\n    {tail}")
    if into is not None:
        into.peak_rss_mb.append(usage.ru_maxrss / 1024)
    return elapsed


def floor(server: Server, project: GeneratedProject, repeat: int) -> Measurement:
    """A bare `alembic upgrade head` on an empty database: the least any check can cost."""
    result = Measurement("floor")
    for _ in range(repeat):
        db = server.create_database("floor")
        try:
            result.runs.append(run_command([sys.executable, "-m", "alembic", "-c", str(project.alembic_ini),
                                     "upgrade", "head"], "alembic upgrade head",
                                    env={"DATABASE_URL": server_url(server, db)}, into=result))
        finally:
            server.drop_database(db)
    return result


def verify(server: Server, project: GeneratedProject, repeat: int, env: dict | None = None,
           name: str = "verify", settings: str | None = None) -> Measurement:
    """`python -m checks verify` with every stage, against the same server (--url); with
    `settings`, the text of the settings file it is given (--config)."""
    import json

    result = Measurement(name)
    with tempfile.TemporaryDirectory(prefix="alembic-preflight-bench-") as tmp:
        report, times = Path(tmp) / "report.json", Path(tmp) / "steps.tsv"
        config = []
        if settings is not None:
            (Path(tmp) / "settings.toml").write_text(settings)
            config = ["--config", str(Path(tmp) / "settings.toml")]
        for _ in range(repeat):
            times.unlink(missing_ok=True)
            result.runs.append(run_command(
                [sys.executable, "-m", "checks", "verify", "--project", str(project.root),
                 "--url", server_url(server, server.endpoint.maintenance_db), "--quiet-progress",
                 "--report-json", str(report), *config], "verify on the generated project",
                env={**(env or {}), STEP_TIMES_ENV: str(times)}, into=result))
            result.steps += read_steps(times)
            stages = json.loads(report.read_text())["stages"]
            for stage in stages:
                result.parts.setdefault(stage["name"], []).append(stage.get("duration_s") or 0.0)
            result.absorb(Measurement(name, fallbacks=split_outcome(stages)))
    return result


# How the round trip's summary says the split fell back at the seam (checks.parallel.segments).
FELL_BACK = ("split in two, then walked on here", "walked in one go from head")


def split_outcome(stages: list[dict]) -> tuple[int, int]:
    """(1 if the round trip's split fell back at the seam, 1 if it split at all)."""
    summary = next((s.get("summary") or "" for s in stages if s["name"] == "roundtrip"), "")
    fell = any(phrase in summary for phrase in FELL_BACK)
    return int(fell), int(fell or summary.startswith("split in two"))


def verify_one_process(server: Server, project: GeneratedProject, repeat: int) -> Measurement:
    """The same, with the round trip walked whole in one process, as on a one-core runner."""
    from checks.parallel.beside import SERIAL_ENV

    return verify(server, project, repeat, env={SERIAL_ENV: "1"}, name="verify, one process")


def verify_unmeasured(server: Server, project: GeneratedProject, repeat: int) -> Measurement:
    """The same without measuring each revision's locks, rewrites and scans: what they cost."""
    return verify(server, project, repeat, name="verify, measure = false", settings="measure = false\n")


CONFTEST = '''\
"""pytest-alembic, set up the way its documentation says: an alembic_engine per test."""

import itertools
import os

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

_names = itertools.count(1)


@pytest.fixture
def alembic_config():
    return {"file": os.environ["BENCH_ALEMBIC_INI"]}


@pytest.fixture
def alembic_engine():
    # A fresh, empty database per test, as pytest-mock-resources would hand out.
    server = make_url(os.environ["BENCH_SERVER_URL"])
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"peer_{os.getpid()}_{next(_names)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = sa.create_engine(server.set(database=name))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
'''


# Its documented alternative to --test-alembic, whose collector breaks on pytest 9
# ('TestCollector' object has no attribute '_nodeid'): the same four functions, imported.
TESTS = """\
from pytest_alembic.tests import (  # noqa: F401
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
"""


def pytest_alembic(server: Server, project: GeneratedProject, repeat: int) -> Measurement:
    """pytest-alembic's four default tests on the same project, run by pytest."""
    result = Measurement("pytest-alembic")
    try:
        import pytest_alembic  # noqa: F401
    except ImportError:
        result.skipped = "pytest-alembic is not installed (pip install pytest-alembic)"
        return result
    with tempfile.TemporaryDirectory(prefix="alembic-preflight-peer-") as tmp:
        root = Path(tmp)
        (root / "tests").mkdir()
        (root / "tests" / "conftest.py").write_text(CONFTEST)
        (root / "tests" / "test_migrations.py").write_text(TESTS)
        # Bind the plugin's own collector nowhere, so only the imported tests run.
        (root / "pytest.ini").write_text("[pytest]\npytest_alembic_tests_path = tests/not_collected.py\n")
        junit = root / "junit.xml"
        env = {"BENCH_ALEMBIC_INI": str(project.alembic_ini),
               "BENCH_SERVER_URL": server_url(server, server.endpoint.maintenance_db)}
        for _ in range(repeat):
            result.runs.append(run_command(
                [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                 f"--junitxml={junit}", "tests"], "pytest-alembic", cwd=root, env=env, into=result))
            cases = ET.parse(junit).getroot().iter("testcase")
            names = []
            for case in cases:
                names.append(case.get("name"))
                result.parts.setdefault(case.get("name"), []).append(float(case.get("time") or 0))
            if len(names) != 4:
                raise BenchError(f"pytest-alembic ran {len(names)} tests ({', '.join(names)}), "
                                 "expected its four defaults; is pytest-alembic 0.13 installed?")
    return result


@dataclass(frozen=True)
class Command:
    """One measured command: a row of the bench at every size."""

    key: str  # the JSON name
    label: str
    measure: Callable[[Server, GeneratedProject, int], Measurement]
    up_to: int | None = None  # the largest history it is measured on

    def skips(self, project: GeneratedProject) -> str | None:
        """Why it is not measured on `project`, if it is not."""
        if self.up_to is not None and project.revisions > self.up_to:
            return f"measured up to {self.up_to} revisions"
        return None


# The rows, in the order they run each round; a new contender is one more entry here
# (and, if the targets name it, one line in checks.bench.report.targets). The slow ones
# stop at 500 revisions: past that, a round would take minutes for a row no target reads.
COMMANDS = [
    Command("floor", "floor: alembic upgrade head", floor),
    Command("verify", "verify (every stage)", verify),
    Command("verify_one_process", "verify, round trip in one process", verify_one_process, up_to=500),
    Command("verify_unmeasured", "verify, measure = false", verify_unmeasured, up_to=500),
    Command("pytest_alembic", "pytest-alembic (4 default tests)", pytest_alembic, up_to=500),
]


def _start_time(make: Callable[[], Server], patches: Callable[[ExitStack], None] | None = None) -> float:
    with ExitStack() as stack:
        if patches:
            patches(stack)
        server = make()
        started = time.perf_counter()
        server.__enter__()
        elapsed = time.perf_counter() - started
        stack.callback(server.__exit__, None, None, None)
        return elapsed


def server_starts(major: int | None, repeat: int) -> list[Measurement]:
    """Start to first successful query, per backend this machine has."""
    from harness import local

    cold, warm, compose = Measurement("local cold"), Measurement("local warm"), Measurement("compose")
    try:
        local.find_installation(major)
    except Exception as exc:  # noqa: BLE001 - no local binaries: say why and carry on
        cold.skipped = warm.skipped = f"no local PostgreSQL: {exc}"
    else:
        for _ in range(repeat):
            with tempfile.TemporaryDirectory(prefix="alembic-preflight-cold-") as cache:
                # An empty cache: the start includes initdb, as on a new machine or CI runner.
                def empty_cache(stack: ExitStack, cache: str = cache) -> None:
                    stack.enter_context(mock.patch.object(local, "CACHE_ROOT", Path(cache)))

                cold.runs.append(_start_time(lambda: local.LocalServer(major), empty_cache))
            warm.runs.append(_start_time(lambda: local.LocalServer(major)))
    reason = _compose_unavailable(major or 17)
    if reason:
        compose.skipped = reason
    else:
        from harness.compose import ComposeServer

        for _ in range(repeat):
            compose.runs.append(_start_time(lambda: ComposeServer(major or 17)))
    return [cold, warm, compose]


def _compose_unavailable(major: int) -> str | None:
    try:
        from harness.compose import compose_available
    except ImportError:
        return "harness.compose is not available in this checkout"
    probe = subprocess.run(["docker", "image", "inspect", f"alembic-preflight/postgres:{major}"],
                           capture_output=True) if _has_docker() else None
    if probe is None or probe.returncode != 0:
        return (f"no Docker image alembic-preflight/postgres:{major}; "
                f"run `invoke build-images --major {major}`")
    return compose_available(major)


def _has_docker() -> bool:
    import shutil

    return shutil.which("docker") is not None
