"""Shared fixtures: one real PostgreSQL server per test session, and the CLI against it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_support import CliResult, run_cli
from roles import ordinary_role

from checks.schema.incremental import CHECK_ENV
from harness.select import open_server

# Every incremental snapshot any test's run takes (fixture projects, CLI subprocesses) is
# compared with a full one; a difference crashes the stage, so the test fails.
os.environ.setdefault(CHECK_ENV, "1")


@pytest.fixture(scope="session")
def pg_server():
    """A real, throwaway PostgreSQL server (local binaries) for the whole test session."""
    with open_server("local") as server:
        yield server


@pytest.fixture
def make_database(pg_server):
    """make_database(purpose, template=None) -> name of a new database on the session
    server: empty, or a copy of `template`."""
    made = []

    def make(purpose: str = "test", template: str | None = None) -> str:
        name = pg_server.create_database(purpose, template)
        made.append(name)
        return name

    yield make
    for name in made:
        pg_server.drop_database(name)


@pytest.fixture
def role(pg_server):
    """An ordinary role with only CREATEDB on the session server, as CI service databases give."""
    with ordinary_role(pg_server, "CREATEDB") as made:
        yield made


@pytest.fixture
def verify(pg_server, tmp_path):
    """verify(project_dir, *extra_args) runs every stage against the session server."""
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)

    def run(project: Path, *extra: str, **kwargs) -> CliResult:
        return run_cli("verify", "--project", str(project), *extra, url=url,
                       report=tmp_path / "report.json", **kwargs)

    return run
