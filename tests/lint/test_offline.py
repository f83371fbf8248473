"""Offline capture: the whole history as `alembic upgrade --sql` runs it, failures reported."""

from __future__ import annotations

import shutil

import pytest
from cli_support import EXAMPLE, needs_example
from lint_support import codes, copy_fixture, lint

from checks.lint import rule_hits
from checks.lint.settings import LintSettings
from checks.project.project import Project


def test_env_without_offline_mode_is_reported_and_rules_still_run(tmp_path):
    root = copy_fixture(tmp_path, "online_only")
    found = lint(root)
    env = [f for f in found if f.code == "offline-unsupported"]
    assert len(env) == 1 and env[0].revision is None and env[0].object == "env.py"
    assert "no offline mode" in env[0].message
    assert "run_migrations_offline()" in env[0].hint and "op.get_bind()" not in env[0].hint
    assert ("drop-column", "drop_column_fires", "warning") in codes(found)


ASKS_OFFLINE = '''"""a revision that asks which mode it runs in

Revision ID: asks_offline
Revises: drop_column_fires
"""
from alembic import context, op

revision = "asks_offline"
down_revision = "drop_column_fires"


def upgrade() -> None:
    if context.is_offline_mode():
        op.execute("COMMENT ON TABLE widgets IS 'offline'")
    else:
        op.execute("COMMENT ON TABLE widgets IS 'online'")


def downgrade() -> None:
    op.execute("COMMENT ON TABLE widgets IS NULL")
'''


def test_in_the_bare_offline_context_a_revision_can_ask_for_the_mode(tmp_path):
    """Where env.py has no offline mode, the revisions run as `alembic upgrade --sql` runs
    them: `context.is_offline_mode()`, what the offline fix recommends, answers True."""
    root = copy_fixture(tmp_path, "online_only")
    (root / "versions" / "03_asks_offline.py").write_text(ASKS_OFFLINE)
    hits, capture = rule_hits(Project(root), LintSettings())
    assert capture.env_error is not None  # the bare context was used
    asks = capture.by_id()["asks_offline"]
    assert asks.error is None and "COMMENT ON TABLE widgets IS 'offline'" in asks.sql
    assert "asks_offline" not in {hit.revision for hit in hits if hit.code == "offline-unsupported"}


def test_a_revision_that_cannot_run_offline_does_not_hide_the_rest(tmp_path):
    hits, capture = rule_hits(Project(copy_fixture(tmp_path, "rules")), LintSettings())
    failed = [c for c in capture.revisions if c.error]
    assert [c.script.revision for c in failed] == ["offline_unsupported_fires",
                                                   "offline_unsupported_suppressed"]
    assert "get_bind" not in failed[0].error and "NoneType" in failed[0].error
    # The revision after the first failure was still captured.
    safe = capture.by_id()["offline_unsupported_safe"]
    assert safe.error is None and "COMMENT ON TABLE owners" in safe.sql


@needs_example
def test_example_sql_is_split_per_revision():
    _, capture = rule_hits(Project(EXAMPLE), LintSettings())
    sql = capture.by_id()
    assert "CREATE TABLE customers" in sql["0001"].sql and "CREATE TABLE orders" not in sql["0001"].sql
    assert "SET LOCAL lock_timeout" in sql["0003"].sql
    assert [o.kind for o in sql["0003"].operations] == ["ExecuteSQLOp", "AddColumnOp"]


def test_lint_is_repeatable(tmp_path):
    root = copy_fixture(tmp_path, "rules")
    assert codes(lint(root)) == codes(lint(root))


@pytest.mark.skipif(shutil.which("squawk") is None, reason="squawk-cli is not installed")
def test_squawk_rules_chosen_in_settings(tmp_path):
    root = copy_fixture(tmp_path, "no_lock_timeout")
    (root / "alembic-preflight.toml").write_text(
        'sys_path = ["../_env"]\n[lint]\nsquawk = ["ban-char-field"]\n')
    path = next((root / "versions").glob("*_safe.py"))
    path.write_text(path.read_text().replace('sa.Column("note", sa.Text())', 'sa.Column("note", sa.CHAR(3))'))
    squawk = [f for f in lint(root) if f.code.startswith("squawk:")]
    assert [(f.code, f.revision) for f in squawk] == [("squawk:ban-char-field", "missing_lock_timeout_safe")]
    assert "ADD COLUMN note CHAR(3)" in squawk[0].object


def test_a_merge_after_a_revision_that_cannot_run_offline_is_still_captured(tmp_path):
    """The stretch after a failure starts at the merge: offline mode is handed both of its
    parents as the heads it starts from, and the merge is read like any other revision."""
    from projects import CREATE_ITEMS, DROP_ITEMS, Rev, build_project

    root = build_project(tmp_path / "project", [
        Rev("first", None, CREATE_ITEMS, DROP_ITEMS),
        Rev("left", "first", 'op.get_bind().execute(sa.text("SELECT 2")).scalar()', "pass"),
        Rev("right", "first", 'op.get_bind().execute(sa.text("SELECT 1")).scalar()', "pass"),
        Rev("merged", ("left", "right")),
        Rev("after", "merged", 'op.execute("COMMENT ON TABLE items IS \'after\'")', "pass"),
    ])
    hits, capture = rule_hits(Project(root), LintSettings())
    # Both branches query the database, so whichever runs second, the merge starts a stretch.
    assert {c.script.revision for c in capture.revisions if c.error} == {"left", "right"}, \
        {c.script.revision: c.error for c in capture.revisions}
    assert {hit.revision for hit in hits if hit.code == "offline-unsupported"} == {"left", "right"}
    assert "COMMENT ON TABLE items IS 'after'" in capture.by_id()["after"].sql
