"""The staircase's second downgrade is not run: the re-upgrade before it is rolled back to a
savepoint instead.

Observed from the project's side: a downgrade() that prints runs once per round trip when
the savepoint serves, twice when it cannot (a commit inside the re-upgrade, an autocommit
connection), and the findings and the schemas compared are the same either way (the test
suite checks every incremental snapshot against a full one, ALEMBIC_PREFLIGHT_SNAPSHOT_CHECK=1,
so a schema the savepoint put back wrongly fails the run).
"""

from __future__ import annotations

import pytest
from projects import ENVS, FIXTURE_DBAPI, ITEMS_MODELS, Rev, build_project, items_revision, per_migration_env

MODELS = ITEMS_MODELS + """\
items.append_column(sa.Column("note", sa.Text))
sa.Index("ix_items_note", items.c.note)
"""
ADD_NOTE = 'op.add_column("items", sa.Column("note", sa.Text))\nprint("upgrade 0002 ran")'
DROP_NOTE = 'op.drop_column("items", "note")\nprint("downgrade 0002 ran")'
INDEX = 'op.create_index("ix_items_note", "items", ["note"])'
INDEX_CONCURRENTLY = """\
with op.get_context().autocommit_block():
    op.create_index("ix_items_note", "items", ["note"], postgresql_concurrently=True)
"""


DROP_INDEX = 'op.drop_index("ix_items_note", table_name="items")\nprint("downgrade 0003 ran")'


def _runs(project, what: str, revision: str = "0002") -> int:
    return (project / ".alembic-preflight" / "project-output.log").read_text().count(f"{what} {revision} ran")


def _history(index: str) -> list[Rev]:
    return [items_revision(), Rev("0002", "0001", ADD_NOTE, DROP_NOTE),
            Rev("0003", "0002", index, DROP_INDEX)]


def test_the_second_downgrade_is_the_re_upgrade_rolled_back(verify, tmp_path):
    project = build_project(tmp_path / "p", _history(INDEX), models=MODELS)
    result = verify(project, "--stage", "roundtrip")

    assert result.code == 0, result.stdout + result.stderr
    # Up in the build, then down once and up once on the staircase.
    assert (_runs(project, "upgrade"), _runs(project, "downgrade")) == (2, 1)
    assert _runs(project, "downgrade", "0003") == 1


def test_a_commit_in_the_staircase_runs_the_real_downgrade(verify, tmp_path):
    # CREATE INDEX CONCURRENTLY commits around itself: the savepoint set as 0003's re-upgrade
    # began is gone when it is done, so its second downgrade really runs; 0002's re-upgrade
    # commits nothing of its own, and its savepoint serves.
    project = build_project(tmp_path / "p", _history(INDEX_CONCURRENTLY), models=MODELS)
    result = verify(project, "--stage", "roundtrip")

    assert result.code == 0, result.stdout + result.stderr
    assert (_runs(project, "downgrade", "0003"), _runs(project, "downgrade", "0002")) == (2, 1)
    assert result.findings("roundtrip") == []


def test_a_transaction_per_migration_in_env_py_changes_nothing(verify, tmp_path):
    # The staircase commits every step anyway; the savepoint lives inside one step.
    project = build_project(tmp_path / "p", _history(INDEX), models=MODELS,
                            files={"migrations/env.py": per_migration_env()})
    result = verify(project, "--stage", "roundtrip")

    assert result.code == 0, result.stdout + result.stderr
    assert (_runs(project, "downgrade", "0003"), _runs(project, "downgrade", "0002")) == (1, 1)


def test_a_trace_is_still_named_when_the_savepoint_takes_the_step_back(verify, tmp_path):
    revisions = [items_revision(), Rev("0002", "0001", ADD_NOTE, 'print("downgrade 0002 ran")'),
                 Rev("0003", "0002", INDEX, DROP_INDEX)]
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    result = verify(project, "--stage", "roundtrip")

    found = [(f["code"], f["revision"]) for f in result.findings("roundtrip")]
    assert found == [("downgrade-leaves-trace", "0002"), ("reupgrade-failed", "0002")], found
    assert _runs(project, "downgrade") == 1


def test_an_autocommit_connection_runs_every_downgrade_twice(verify, tmp_path):
    # No transaction, so no savepoint: the staircase's third step is the real downgrade.
    env = (ENVS / "sync_template.py").read_text().replace(
        "with connectable.connect() as connection:",
        'with connectable.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:')
    project = build_project(tmp_path / "p", _history(INDEX), models=MODELS, files={"migrations/env.py": env})
    result = verify(project, "--stage", "roundtrip")

    assert result.code == 0, result.stdout + result.stderr
    assert (_runs(project, "downgrade", "0003"), _runs(project, "downgrade", "0002")) == (2, 2)
    assert result.findings("roundtrip") == []


def test_a_merge_and_the_branches_below_it_are_taken_back_too(verify, tmp_path):
    # Rolling back the merge's re-upgrade puts back two version rows, and Alembic's own idea
    # of the heads with them: the branches below still book themselves from what the table holds.
    def printed(revision: str, body: str = "pass") -> str:
        return f'{body}\nprint("downgrade {revision} ran")'

    models = ITEMS_MODELS + 'items.append_column(sa.Column("a", sa.Integer))\n' \
                            'items.append_column(sa.Column("b", sa.Integer))\n'
    revisions = [items_revision(),
                 Rev("0002", "0001", 'op.add_column("items", sa.Column("a", sa.Integer))',
                     printed("0002", 'op.drop_column("items", "a")')),
                 Rev("0003", "0001", 'op.add_column("items", sa.Column("b", sa.Integer))',
                     printed("0003", 'op.drop_column("items", "b")')),
                 Rev("0004", ("0002", "0003"), "pass", printed("0004"))]
    project = build_project(tmp_path / "p", revisions, models=models)
    result = verify(project, "--stage", "roundtrip")

    assert result.code == 0, result.stdout + result.stderr
    assert [_runs(project, "downgrade", r) for r in ("0004", "0003", "0002")] == [1, 1, 1]
    assert result.findings("roundtrip") == []


@pytest.mark.skipif(FIXTURE_DBAPI != "psycopg", reason="the snapshots prepare their statements on psycopg 3 "
                    "only (SQLAlchemy 1.4 projects migrate on psycopg2: nothing of ours is prepared)")
def test_the_snapshots_prepared_statements_outlive_every_step(verify, tmp_path):
    # psycopg prepares a statement it has run five times, and once it holds one, answers
    # the next ALTER, DROP or ROLLBACK TO with DEALLOCATE ALL: the savepoint's own
    # statements, run at every revision, must never be among them, or the snapshots'
    # prepared statements would be dropped (and made again) every few steps.
    columns = [f"c{i}" for i in range(2, 12)]
    models = ITEMS_MODELS + "".join(f'items.append_column(sa.Column("{c}", sa.Integer))\n' for c in columns)
    count = ("op.get_bind().exec_driver_sql(\"SELECT count(*) FROM pg_prepared_statements "
             "WHERE starts_with(name, 'alembic_preflight_')\").scalar()")
    revisions = [items_revision()]
    for number, column in enumerate(columns, start=2):
        down = f'op.drop_column("items", "{column}")'
        if column != columns[-1]:  # head's downgrade runs before the walk's first snapshot
            down += f'\nprint("prepared after the ALTER:", {count})'
        revisions.append(Rev(f"{number:04d}", f"{number - 1:04d}",
                             f'op.add_column("items", sa.Column("{column}", sa.Integer))', down))
    project = build_project(tmp_path / "p", revisions, models=models)
    result = verify(project, "--stage", "roundtrip")

    assert result.code == 0, result.stdout + result.stderr
    log = (project / ".alembic-preflight" / "project-output.log").read_text()
    counts = [int(line.rsplit(" ", 1)[1]) for line in log.splitlines() if line.startswith("prepared after")]
    assert len(counts) == len(columns) - 1 and all(counts), counts
