"""The side worker (lint beside the build, on a short history or a pull request) is used only
where no project module is loaded before it forks: settings an app reads once would name the
database the main process is building, and a revision that connects on its own in lint's
offline run would reach it from the worker, where one process finds it gone."""

from __future__ import annotations

from pathlib import Path

from projects import APP_SETTINGS, APP_SETTINGS_ENV, Rev, build_project, items_revision

from checks.parallel import beside
from checks.parallel.segments import BESIDE

# Reads the app's settings at import, and connects with them on its own in upgrade().
CONNECTS = '''\
"""Counts items through a connection of its own."""
import sqlalchemy as sa
from alembic import op

from app.settings import DATABASE_URI

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    engine = sa.create_engine(DATABASE_URI, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT count(*) FROM items")).scalar()
    engine.dispose()


def downgrade():
    pass
'''


def _project(root: Path, loaded: bool) -> Path:
    revisions = [items_revision()] + ([] if loaded else [Rev("0002", "0001")])
    files = {"app/settings.py": APP_SETTINGS}
    if loaded:
        files["migrations/versions/0002_connects.py"] = CONNECTS
    return build_project(root, revisions, env="app_settings", settings=APP_SETTINGS_ENV, files=files)


def _lint(result) -> list[tuple]:
    return [(f["code"], f["revision"]) for f in result.findings("lint")]


def test_lint_runs_beside_the_build_when_no_project_module_is_loaded(verify, tmp_path):
    result = verify(_project(tmp_path / "p", loaded=False))
    assert BESIDE in result.stage("lint")["summary"], result.stage("lint")


def test_lint_runs_in_the_main_process_after_a_revision_imported_the_app(verify, tmp_path):
    project = _project(tmp_path / "p", loaded=True)
    default = verify(project)
    alone = verify(project, env={beside.SERIAL_ENV: "1"})
    assert BESIDE not in (default.stage("lint")["summary"] or ""), default.stage("lint")
    # Both runs find the database gone by lint's turn: the revision cannot run offline.
    assert ("offline-unsupported", "0002") in _lint(default)
    assert _lint(default) == _lint(alone)
