"""The project's process on the oldest stack the suite supports there (SQLAlchemy 1.3,
Alembic 1.5, psycopg2), in a virtual environment of the project's own that the suite
never installs into: the run leaves it exactly as it was."""

from __future__ import annotations

import os
import subprocess
import venv
from pathlib import Path

import pytest
from projects import Rev, build_project, items_revision

from checks.project.agent import Agent, opening
from checks.project.project import Project

OLD_STACK = ["SQLAlchemy==1.3.24", "alembic==1.5.8", "psycopg2-binary==2.9.9"]
OLD_URL_DRIVER = "psycopg2"


@pytest.fixture(scope="module")
def old_python(tmp_path_factory) -> Path:
    """A project's own virtual environment with the oldest supported stack."""
    folder = tmp_path_factory.mktemp("old-stack") / "venv"
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *OLD_STACK],
                   check=True, timeout=600)
    return python


def pip_freeze(python: Path) -> str:
    return subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout


def everything_in(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


def test_the_old_stack_runs_the_history_and_is_left_as_it_was(old_python, tmp_path, pg_server, make_database):
    environment = old_python.parent.parent
    before = everything_in(environment)
    frozen = pip_freeze(old_python)
    project = Project(build_project(tmp_path / "p", [items_revision(), Rev(
        "0002", "0001", 'op.add_column("items", sa.Column("price", sa.Integer))',
        'op.drop_column("items", "price")')], env="connection"))
    name = make_database()
    url = pg_server.url(name, OLD_URL_DRIVER).render_as_string(hide_password=False)
    columns = []
    with Agent(str(old_python)) as agent:
        facts = agent.request("facts")
        agent.request("open", **opening(project))
        history = agent.request("history")
        connection = agent.connection()

        def on_event(event: str, data: dict):
            if event == "step":
                columns.append(connection.execute(
                    "SELECT count(*) FROM information_schema.columns WHERE table_name = %(t)s", {"t": "items"}
                ).scalar())

        result = agent.request("run", on_event=on_event, url=url,
                               plan=[[r["revision"], True] for r in history["revisions"]])
    assert (facts["sqlalchemy"], facts["alembic"], facts["default_driver"]) == ("1.3.24", "1.5.8", "psycopg2")
    assert result == {"started": True, "done": 2, "error": None} and columns == [2, 3]
    with pg_server.connect(name) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]
    # Nothing of the suite's was installed or left there, and nothing else changed.
    assert pip_freeze(old_python) == frozen
    assert everything_in(environment) == before
    own = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    for package in ("projectside", "checks", "harness", "psycopg"):
        found = subprocess.run([old_python, "-c", f"import {package}"], capture_output=True, cwd=tmp_path,
                               env=own)
        assert found.returncode != 0, f"{package} is importable in the project's environment"
