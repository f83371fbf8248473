"""squash and squash-check with the project in its own Python: the history is built, and the
old one rebuilt from git, in the project's process, as every other stage does."""

from __future__ import annotations

import subprocess
from pathlib import Path

from cli_support import run_cli
from projects import Rev, assert_clean, build_project, items_revision

HISTORY = [items_revision(), Rev("0002", "0001", 'op.create_index("ix_items_name", "items", ["name"])',
                                 'op.drop_index("ix_items_name", "items")')]
MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False),
                 sa.Index("ix_items_name", "name"))
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=repo,
                   check=True, capture_output=True)


def test_squash_and_its_proof_in_the_projects_own_python(verify, tmp_path, shared_python, pg_server):
    project = build_project(tmp_path / "project", HISTORY, models=MODELS)
    _git(project, "init", "-q", "-b", "main")
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "history")
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)

    squashed = run_cli("squash", "--to", "0002", "--project", str(project), "--yes", "--python",
                       str(shared_python), url=url)
    assert squashed.code == 0, squashed.stdout + squashed.stderr
    _git(project, "add", "-A")
    _git(project, "commit", "-q", "-m", "squash")

    proved = verify(project, "--python", str(shared_python), "--quiet-progress", "--squash-check", "HEAD~1")

    assert_clean(proved)
    assert proved.stage("squash")["status"] == "pass", proved.stdout
    assert "python:" in proved.stdout and str(shared_python.parent.parent) in proved.stdout
