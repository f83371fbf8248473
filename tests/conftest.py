"""Shared fixtures: one real PostgreSQL server per test session, and helpers to run the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.select import open_server

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE = ROOT / "example"


@pytest.fixture(scope="session")
def pg_server():
    """A real, throwaway PostgreSQL server (local binaries) for the whole test session."""
    with open_server("local") as server:
        yield server


@pytest.fixture
def make_database(pg_server):
    """make_database(purpose) -> name of a new empty database on the session server."""
    made = []

    def make(purpose: str = "test") -> str:
        name = pg_server.create_database(purpose)
        made.append(name)
        return name

    yield make
    for name in made:
        pg_server.drop_database(name)


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    report: dict | None

    def stage(self, name: str) -> dict:
        assert self.report is not None, f"no JSON report; stderr: {self.stderr}"
        for stage in self.report["stages"]:
            if stage["name"] == name:
                return stage
        raise AssertionError(f"stage {name} not in report: {[s['name'] for s in self.report['stages']]}")

    def findings(self, stage: str, code: str | None = None) -> list[dict]:
        found = self.stage(stage)["findings"]
        return [f for f in found if code is None or f["code"] == code]


def run_cli(*args: str, url: str | None = None, report: Path | None = None, env: dict | None = None,
            timeout: float = 300) -> CliResult:
    """Run `python -m checks ...` in a subprocess, as a user would."""
    cmd = [sys.executable, "-m", "checks", *args]
    if url and "--url" not in args and "--backend" not in args:
        cmd += ["--url", url]
    if report is not None:
        cmd += ["--report-json", str(report)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, **(env or {})})
    data = json.loads(report.read_text()) if report is not None and report.exists() else None
    return CliResult(proc.returncode, proc.stdout, proc.stderr, data)


@pytest.fixture
def verify(pg_server, tmp_path):
    """verify(project_dir, *extra_args) runs every stage against the session server."""
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)

    def run(project: Path, *extra: str, **kwargs) -> CliResult:
        return run_cli("verify", "--project", str(project), *extra, url=url,
                       report=tmp_path / "report.json", **kwargs)

    return run
