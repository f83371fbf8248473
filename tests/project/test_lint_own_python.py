"""lint with the project in its own Python (--python): env.py runs offline there, on the
oldest stack the suite supports, and the rules read what it recorded, finding what they
find with the project in the suite's own Python: the same codes, revisions, objects and
lines."""

from __future__ import annotations

import dataclasses
import time

import pytest
from projects import Rev, build_project, items_revision

DROPS_NAME = Rev("0002", "0001", 'op.drop_column("items", "name")',
                 'op.add_column("items", sa.Column("name", sa.Text))')
INDEXES_ID = Rev("0003", "0002", 'op.create_index("ix_items_id", "items", ["id"])',
                 'op.drop_index("ix_items_id", table_name="items")')
# Offline, get_bind() is a connection that runs nothing: its execute() returns None.
READS_BIND = Rev("0004", "0003", """\
if op.get_bind().execute(sa.text("SELECT count(*) FROM items")).scalar():
    op.execute("UPDATE items SET id = id")
""")
ADDS_NOT_NULL = Rev("0005", "0004", 'op.add_column("items", sa.Column("note", sa.Text, nullable=False))',
                    'op.drop_column("items", "note")')


def _lint(result) -> list[tuple]:
    assert result.code in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    return sorted(((f["code"], f["revision"], f["object"], f["line"], f["severity"])
                   for f in result.findings("lint")), key=repr)


def _line_of(project, revision: str, text: str) -> int:
    source = (project / "migrations" / "versions" / f"{revision}_revision.py").read_text().splitlines()
    return next(number for number, line in enumerate(source, 1) if text in line)


# connection: an env.py with no offline mode, so the revisions run in a bare offline context.
@pytest.mark.parametrize("env", ["sync_template", "connection"])
def test_lint_finds_in_the_projects_python_what_it_finds_here(verify, tmp_path, old_python, env):
    project = build_project(tmp_path / "project",
                            [items_revision(), DROPS_NAME, INDEXES_ID, READS_BIND, ADDS_NOT_NULL], env=env)

    here = _lint(verify(project, "--stage", "lint"))
    result = verify(project, "--stage", "lint", "--python", str(old_python))
    there = _lint(result)

    assert there == here
    named = {(f["code"], f["revision"]): f for f in result.findings("lint")}
    assert named["drop-column", "0002"]["line"] == _line_of(project, "0002", "op.drop_column")
    assert named["drop-column", "0002"]["object"] == "items.name"
    index = named["create-index-not-concurrent", "0003"]
    assert index["object"] == "ix_items_id"
    assert index["line"] == _line_of(project, "0003", "op.create_index")
    assert "NoneType" in named["offline-unsupported", "0004"]["message"]
    # The revisions after the one that cannot run offline are still read.
    assert named["add-not-null-column", "0005"]["object"] == "items.note"
    assert (("offline-unsupported", None) in named) is (env == "connection")


def test_a_clean_history_passes_lint_in_the_projects_python(verify, tmp_path, old_python):
    index = 'op.create_index("ix_notes_id", "notes", ["id"])'
    project = build_project(tmp_path / "project", [items_revision(), Rev(
        "0002", "0001", f'op.create_table("notes", sa.Column("id", sa.Integer))\n{index}',
        'op.drop_table("notes")')])

    result = verify(project, "--stage", "lint", "--python", str(old_python))

    assert result.code == 0, result.stdout + result.stderr
    assert result.stage("lint")["status"] == "pass", result.stage("lint")
    assert _lint(result) == []


def test_a_revision_past_its_limit_offline_is_ended_in_the_projects_process(verify, tmp_path, old_python):
    sleeps = Rev("0002", "0001", """\
from alembic import context
if context.is_offline_mode():
    import time
    time.sleep(60)
""")
    after = dataclasses.replace(DROPS_NAME, id="0003", down="0002")
    project = build_project(tmp_path / "project", [items_revision(), sleeps, after])

    started = time.monotonic()
    result = verify(project, "--stage", "lint", "--python", str(old_python), "--revision-timeout", "2")

    assert time.monotonic() - started < 40  # not the revision's 60 s
    [ended] = result.findings("lint", "offline-unsupported")
    assert ended["revision"] == "0002", ended
    assert "2 s revision limit" in ended["message"], ended
    # The revision after it is still read.
    assert [f["revision"] for f in result.findings("lint", "drop-column")] == ["0003"]
