"""Lint reads what is new: revisions recorded in revisions.lock (released) are not linted
again unless asked, so the findings about the revision being written are not buried."""

from __future__ import annotations

import pytest
from cli_support import run_cli
from projects import Rev, build_project, items_revision

from checks.lint.select import revisions_to_lint
from checks.lockfile import LOCK_NAME
from checks.project.project import Project

# Released with findings nobody can fix any more: the lock forbids editing them.
RELEASED = [
    items_revision(),
    Rev("0002", "0001", 'op.drop_column("items", "name")',
        'op.add_column("items", sa.Column("name", sa.Text))'),
]
NEW = Rev("0003", "0002", 'op.drop_table("items")', "pass")


@pytest.fixture
def released_project(tmp_path):
    """0001 and 0002 locked as released, 0002 dropping a column; 0003 (new) drops a table."""
    root = build_project(tmp_path / "project", RELEASED)
    locked = run_cli("lock", "--project", str(root))
    assert locked.code == 0, locked.stdout + locked.stderr
    (root / "migrations" / "versions" / NEW.filename).write_text(NEW.source())
    return root


def lint_run(verify, root, *extra):
    result = verify(root, "--stage", "lint", "--quiet-progress", *extra)
    assert result.report is not None, result.stdout + result.stderr
    risky = [(f["code"], f["revision"]) for f in result.findings("lint") if f["code"] in ("drop-column",
                                                                                          "drop-table")]
    scope = result.stage("lint")["summary"]
    assert scope in result.stdout
    return risky, scope, result


def test_only_the_revision_not_in_the_lock_is_linted(verify, released_project):
    risky, scope, result = lint_run(verify, released_project)
    assert risky == [("drop-table", "0003")], result.stdout
    assert "1 revision(s) linted; 2 released revision(s) in revisions.lock skipped" in scope


def test_lint_all_reads_the_released_revisions_too(verify, released_project):
    risky, scope, result = lint_run(verify, released_project, "--lint-all")
    assert risky == [("drop-column", "0002"), ("drop-table", "0003")], result.stdout
    assert "3 revision(s) linted: all of them, released ones too" in scope


def test_the_lint_all_setting_reads_the_released_revisions_too(verify, released_project):
    (released_project / "pyproject.toml").write_text("[tool.alembic-preflight.lint]\nall = true\n")
    risky, _, result = lint_run(verify, released_project)
    assert risky == [("drop-column", "0002"), ("drop-table", "0003")], result.stdout


def test_without_a_lock_everything_is_linted_and_the_stage_says_so(verify, tmp_path):
    root = build_project(tmp_path / "project", [*RELEASED, NEW])
    risky, scope, result = lint_run(verify, root)
    assert risky == [("drop-column", "0002"), ("drop-table", "0003")], result.stdout
    assert f"3 revision(s) linted: all of them, as there is no {LOCK_NAME}" in scope


def test_the_selection_keeps_history_order_and_counts_the_released(released_project):
    project = Project(released_project)
    order = project.upgrade_order()
    selection = revisions_to_lint(order, project.script.dir)
    assert [s.revision for s in selection.revisions] == ["0003"] and selection.released == 2
    everything = revisions_to_lint(order, project.script.dir, lint_all=True)
    assert [s.revision for s in everything.revisions] == ["0001", "0002", "0003"]
