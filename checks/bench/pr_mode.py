"""The pull-request measurement: verify on a history where a change adds one revision.

The base is every revision below head, restored from a warm `--cache` (one untimed run
fills it, as the previous CI run of the same target branch would have); what is timed is
the run a pull request pays for: a restore, one revision walked and round-tripped, drift,
lint of the one revision. Its target is the floor itself (a bare `alembic upgrade head`).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from checks.bench.measure import BenchError, Measurement, run_command, server_url
from checks.bench.project import GeneratedProject
from checks.pullrequest.cache import SCRIPT
from harness.server import Server

CACHE = ".alembic-preflight-bench-cache"  # inside the generated project: warm across rounds


def parent_of_head(project: GeneratedProject) -> str:
    script = ScriptDirectory.from_config(Config(str(project.alembic_ini)))
    below = script.get_revision(project.head).down_revision
    if not isinstance(below, str):
        raise BenchError(f"the generated head {project.head} has no single parent to start a pull request at")
    return below


def pull_request(server: Server, project: GeneratedProject, repeat: int) -> Measurement:
    """`verify --since <head's parent> --cache DIR`, every stage, on a warm cache."""
    result = Measurement("pull request")
    cache = project.root / CACHE
    with tempfile.TemporaryDirectory(prefix="alembic-preflight-bench-") as tmp:
        report = Path(tmp) / "report.json"
        cmd = [sys.executable, "-m", "checks", "verify", "--project", str(project.root),
               "--url", server_url(server, server.endpoint.maintenance_db), "--quiet-progress",
               "--since", parent_of_head(project), "--cache", str(cache), "--report-json", str(report)]
        if not any(cache.glob(f"base-*{SCRIPT}")):
            run_command(cmd, "verify --since (filling the cache)")
        for _ in range(repeat):
            result.runs.append(run_command(cmd, "verify --since on the generated project", into=result))
            data = json.loads(report.read_text())
            trust = data["pull_request"].get("cache", {})
            if not trust.get("trusted_from_cache"):
                raise BenchError(f"the warm run did not restore the base from {cache}: "
                                 f"{trust.get('cache_warnings') or 'no entry'}")
            for stage in data["stages"]:
                result.parts.setdefault(stage["name"], []).append(stage.get("duration_s") or 0.0)
    return result

