"""Lint reports on some revisions (the new ones, a pull request's) yet runs the whole
history offline: the findings on a revision are the same whichever others it reports on,
the transaction state the others leave included, and both directions take one env.py run."""

from __future__ import annotations

import textwrap

import pytest
from alembic.script import ScriptDirectory
from lint_support import copy_fixture

from checks.lint import lint_project, rule_hits
from checks.lint.settings import LintSettings
from checks.project.project import Project


def _findings(root, only=None) -> list[tuple]:
    found = lint_project(Project(root), LintSettings(), only=only)
    return [(f.severity, f.code, f.message, f.revision, f.object, f.file, f.line, f.hint) for f in found]


def _assert_same_as_full_report(root, subsets) -> None:
    full = _findings(root)
    for only in subsets:
        assert _findings(root, set(only)) == [f for f in full if f[3] is None or f[3] in only], only


def _add(root, revision: str, down_revision: str, upgrade: str, message: str = "index widgets.name") -> None:
    body = textwrap.indent(upgrade, "    ")
    (root / "versions" / f"{revision}.py").write_text(
        f'"""{message}"""\nfrom alembic import op\n\nrevision = "{revision}"\n'
        f'down_revision = "{down_revision}"\n\n\ndef upgrade() -> None:\n{body}\n\n\n'
        'def downgrade() -> None:\n    op.drop_index("ix_widgets_name_3", table_name="widgets")\n')


def test_a_subset_is_reported_as_the_full_report_reports_it(tmp_path):
    root = copy_fixture(tmp_path, "rules")
    ids = [s.revision for s in Project(root).upgrade_order()]
    _assert_same_as_full_report(root, [
        ids[-3:],  # a pull request's last revisions
        ids[ids.index("concurrently_in_transaction_fires"):],  # from a transaction-sensitive one on
        ids[ids.index("offline_unsupported_safe"):],  # after the env.py runs a failure restarted
        ids[1::7],  # scattered
        [],
    ])


@pytest.mark.parametrize("before, fires", [
    ('op.execute("COMMIT")', False),  # ends env.py's transaction: the index is built outside one
    ('op.execute("COMMIT")\nop.execute("BEGIN")', True),
    ('op.execute("SELECT 1")', True),
])
def test_transaction_state_left_by_unreported_revisions(tmp_path, before, fires):
    root = copy_fixture(tmp_path, "no_lock_timeout")
    _add(root, "commits", "missing_lock_timeout_suppressed", before, message="end the transaction early")
    _add(root, "concurrently", "commits",
         'op.create_index("ix_widgets_name_3", "widgets", ["name"], postgresql_concurrently=True)')
    _assert_same_as_full_report(root, [["concurrently"], ["commits", "concurrently"]])
    codes = {f[1] for f in _findings(root, {"concurrently"})}
    assert ("concurrently-in-transaction" in codes) is fires


def test_both_directions_take_one_env_run_and_only_reported_revisions_downgrade(tmp_path, monkeypatch):
    root = copy_fixture(tmp_path, "no_lock_timeout")
    runs = []
    run_env = ScriptDirectory.run_env
    monkeypatch.setattr(ScriptDirectory, "run_env", lambda self: (runs.append(1), run_env(self))[1])
    project = Project(root)
    ids = [s.revision for s in project.upgrade_order()]

    _, capture = rule_hits(project, LintSettings())
    assert len(runs) == 1
    assert sorted(capture.downgrades) == sorted(ids)
    assert [o.kind for o in capture.downgrades["missing_lock_timeout_fires"].operations] == \
        ["DropColumnOp"]
    # The upgrade SQL is what `alembic upgrade --sql` writes: no downgrade statement in it.
    assert not any("DROP COLUMN" in item.sql for item in capture.revisions)

    _, capture = rule_hits(project, LintSettings(), only={ids[-1]})
    assert list(capture.downgrades) == [ids[-1]]
    assert [item.script.revision for item in capture.revisions] == ids  # the history still runs
    assert not capture.by_id()[ids[0]].lines and capture.by_id()[ids[-1]].lines


def test_from_the_base_the_sql_is_what_a_deploy_from_the_base_runs(tmp_path):
    """A pull request's revisions are read as `alembic upgrade` runs them on a database at
    the base: a COMMIT in a released revision ran long ago there, so the new revision's
    CREATE INDEX CONCURRENTLY is inside env.py's transaction and fails in production."""
    root = copy_fixture(tmp_path, "no_lock_timeout")
    _add(root, "commits", "missing_lock_timeout_suppressed", 'op.execute("COMMIT")',
         message="end the transaction early")
    _add(root, "concurrently", "commits",
         'op.create_index("ix_widgets_name_3", "widgets", ["name"], postgresql_concurrently=True)')
    whole = {f.code for f in lint_project(Project(root), LintSettings(), only={"concurrently"})}
    deploy = lint_project(Project(root), LintSettings(), only={"concurrently"}, from_base=True)
    assert "concurrently-in-transaction" not in whole
    assert [(f.code, f.revision) for f in deploy if f.code == "concurrently-in-transaction"] == \
        [("concurrently-in-transaction", "concurrently")]
    assert {f.revision for f in deploy} <= {"concurrently", None}


def test_from_the_base_runs_no_revision_below_the_first_reported(tmp_path):
    root = copy_fixture(tmp_path, "no_lock_timeout")
    project = Project(root)
    ids = [s.revision for s in project.upgrade_order()]
    _, capture = rule_hits(project, LintSettings(), only={ids[-1]}, from_base=True)
    assert [item.script.revision for item in capture.revisions] == [ids[-1]]
