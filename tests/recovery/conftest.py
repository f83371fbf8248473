"""A developer database at the head of the recovery project, holding rows."""

from __future__ import annotations

import contextlib
import io

import pytest
from projects import build_project, items_revision
from recovery_support import ADD_NOTE, NOTES_MODELS, ROWS

from checks.cli import main


@pytest.fixture
def project(tmp_path):
    return build_project(tmp_path / "proj", [items_revision(), ADD_NOTE], models=NOTES_MODELS)


@pytest.fixture
def url_of(pg_server):
    return lambda name: pg_server.url(name).render_as_string(hide_password=False)


@pytest.fixture
def dev_db(pg_server, make_database, project, url_of):
    """A database at head (0002) with ROWS in items; returns its name."""
    name = make_database("app_dev")
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["upgrade", "--project", str(project), "--url", url_of(name)]) == 0
    with pg_server.connect(name) as conn:
        for row in ROWS:
            conn.execute("INSERT INTO items (id, name, note) VALUES (%s, %s, %s)", row)
    return name


@pytest.fixture(autouse=True)
def not_ci(monkeypatch):
    """The tests say themselves when they are "in CI"; the suite's own CI must not decide it."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
