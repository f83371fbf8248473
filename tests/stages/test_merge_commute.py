"""merge-order: a merge whose branches touch other relations is proven order-independent from
the revision files and the fresh build's measurements, with no copy of the database taken and
no other order applied; anything the proof cannot hold goes through the real check."""

from __future__ import annotations

import textwrap

import pytest
from projects import (
    CREATE_ITEMS,
    DROP_ITEMS,
    ITEMS_MODELS,
    MAKE_REPORTING_ROLE,
    Rev,
    assert_clean,
    build_project,
    items_revision,
    per_migration_env,
)

from checks.project.project import Project
from checks.run import Run
from checks.stages.merge_commute import named_in_file
from checks.verify import run_stages

NOTES = 'op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True), sa.Column("body", sa.Text))'
PROVEN = "1 merge revision(s), all proven order-independent from what each branch touched"


def merge(revision: str, *heads: str) -> Rev:
    return Rev(revision, tuple(heads), file=f"{revision}_merge.py")


def merged(*branches: Rev) -> list[Rev]:
    """0001 creates items; each branch stands on it; 0004 merges them."""
    return [items_revision(), *branches, merge("0004", *(b.id for b in branches))]


def stage_run(pg_server, monkeypatch, root):
    """fresh and merge-order run here, with the databases the run creates, by purpose."""
    created = []
    create = pg_server.create_database

    def recording(purpose, template=None, name=None):
        created.append(purpose)
        return create(purpose, template, name=name)

    monkeypatch.setattr(pg_server, "create_database", recording)
    run = Run(Project(root), pg_server)
    results = {r.name: r for r in run_stages(run, ["fresh", "merge-order"])}
    return run, results["merge-order"], created


@pytest.mark.parametrize("env", ["sync_template", "per_migration", "async_template"])
def test_branches_on_other_tables_are_proven_without_a_copy_or_another_order(pg_server, monkeypatch,
                                                                              tmp_path, env):
    # In one transaction, or one per revision (the locks each took are its own), or through
    # an async driver's run_sync.
    root = build_project(tmp_path / "project", merged(
        Rev("0002", "0001", NOTES, 'op.drop_table("notes")'),
        Rev("0003", "0001", 'op.create_index("ix_items_name", "items", ["name"])',
            'op.drop_index("ix_items_name", table_name="items")')),
        env="sync_template" if env == "per_migration" else env,
        files={"migrations/env.py": per_migration_env()} if env == "per_migration" else None)

    run, stage, created = stage_run(pg_server, monkeypatch, root)

    assert stage.findings == [] and run.summaries["merge-order"] == PROVEN
    assert "checkpoint" not in created, "no copy of the database before the branches"
    assert created.count("work") == 1, "the fresh build only: no other order applied"
    build = run.build()
    assert build.checkpoints.copies == {} and build.checkpoints.states == {}
    assert {"0002", "0003"} <= build.measured.keys()


def test_a_proof_covers_every_order_of_four_branches_and_the_summary_counts_the_merges_apart(
        pg_server, monkeypatch, tmp_path):
    # 0006 joins four branches on four new tables: proven, every one of the 23 other orders
    # with it. 0009 joins two branches adding columns to items: applied in the other order.
    table = 'op.create_table("t{}", sa.Column("id", sa.Integer, primary_key=True))'
    tables = [Rev(f"000{n}", "0001", table.format(n)) for n in range(2, 6)]
    root = build_project(tmp_path / "project", [
        items_revision(), *tables, merge("0006", *(t.id for t in tables)),
        Rev("0007", "0006", 'op.add_column("items", sa.Column("a", sa.Integer))'),
        Rev("0008", "0006", 'op.add_column("items", sa.Column("b", sa.Integer))'),
        merge("0009", "0007", "0008")])

    run, stage, created = stage_run(pg_server, monkeypatch, root)

    assert stage.findings == [], "no order of 0006's branches is left untried"
    assert run.summaries["merge-order"] == (
        "2 merge revision(s): 1 proven order-independent from what each branch touched; of the other 1, "
        "their branches applied in 1 other order(s) besides the build's")
    assert created.count("checkpoint") == 1, "a copy before 0009's branches only"


def test_a_clean_merge_proven_so_passes_every_stage(verify, tmp_path):
    models = ITEMS_MODELS + ('notes = sa.Table("notes", metadata, sa.Column("id", sa.Integer, '
                             'primary_key=True), sa.Column("body", sa.Text))\n'
                             'sa.Index("ix_items_name", items.c.name)\n')
    root = build_project(tmp_path / "project", merged(
        Rev("0002", "0001", NOTES, 'op.drop_table("notes")'),
        Rev("0003", "0001", 'op.create_index("ix_items_name", "items", ["name"])',
            'op.drop_index("ix_items_name", table_name="items")')), models=models)

    result = verify(root)

    assert_clean(result)
    stage = result.stage("merge-order")
    assert stage["status"] == "pass" and stage["summary"] == PROVEN


def test_a_branch_in_batch_mode_is_read_and_proven(pg_server, monkeypatch, tmp_path):
    batch = ('with op.batch_alter_table("items") as batch_op:\n'
             '    batch_op.add_column(sa.Column("a", sa.Integer))\n'
             '    batch_op.create_index(batch_op.f("ix_items_a"), ["a"])')
    root = build_project(tmp_path / "project", merged(Rev("0002", "0001", NOTES), Rev("0003", "0001", batch)))

    run, stage, created = stage_run(pg_server, monkeypatch, root)

    assert stage.findings == [] and run.summaries["merge-order"] == PROVEN
    assert "checkpoint" not in created


def test_tables_the_default_privileges_grant_on_are_still_proven_apart(pg_server, tmp_path):
    # A new table gets the grants ALTER DEFAULT PRIVILEGES set: a part of it, not another object.
    grant = 'op.execute("ALTER DEFAULT PRIVILEGES {} SELECT ON TABLES {} reporting")'
    root = build_project(tmp_path / "project", [
        Rev("0001", None, MAKE_REPORTING_ROLE + grant.format("GRANT", "TO") + "\n" + CREATE_ITEMS,
            grant.format("REVOKE", "FROM") + "\n" + DROP_ITEMS),
        Rev("0002", "0001", NOTES, 'op.drop_table("notes")'),
        Rev("0003", "0001", 'op.add_column("items", sa.Column("a", sa.Integer))',
            'op.drop_column("items", "a")'),
        merge("0004", "0002", "0003")])
    run = Run(Project(root), pg_server)

    results = {r.name: r for r in run_stages(run, ["fresh", "merge-order", "roundtrip"])}

    assert results["merge-order"].findings == [] and run.summaries["merge-order"] == PROVEN
    grants = run.build().after["0002"].privileges  # the schema after 0002 was read, and compared
    assert any(g.name == "notes" and g.grantee == "reporting" for g in grants)


def test_a_role_with_only_createdb_proves_a_merge_too(verify, role, tmp_path):
    root = build_project(tmp_path / "project", merged(
        Rev("0002", "0001", NOTES, 'op.drop_table("notes")'),
        Rev("0003", "0001", 'op.create_index("ix_items_name", "items", ["name"])')))

    result = verify(root, "--stage", "fresh", "--stage", "merge-order", "--url", role.url())

    assert result.code == 0, result.stdout + result.stderr
    assert result.stage("merge-order")["summary"] == PROVEN


def test_an_event_trigger_of_the_project_keeps_any_merge_from_being_proven(pg_server, monkeypatch, tmp_path):
    # Its code runs on every DDL statement, whichever table: what it does is nobody's to see.
    trigger = """\
op.execute("CREATE TABLE ddl_log (tag text)")
op.execute("CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS "
           "$$ BEGIN INSERT INTO ddl_log VALUES (tg_tag); END $$")
op.execute("CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl()")
"""
    root = build_project(tmp_path / "project", [
        Rev("0001", None, textwrap.dedent(items_revision().upgrade) + "\n" + trigger,
            'op.execute("DROP EVENT TRIGGER log_ddl")\nop.execute("DROP FUNCTION log_ddl()")\n'
            'op.drop_table("ddl_log")\nop.drop_table("items")'),
        Rev("0002", "0001", NOTES, 'op.drop_table("notes")'),
        Rev("0003", "0001", 'op.create_index("ix_items_name", "items", ["name"])'),
        merge("0004", "0002", "0003")])

    run, stage, created = stage_run(pg_server, monkeypatch, root)

    assert stage.findings == []
    assert "applied in 1 other order(s)" in run.summaries["merge-order"]
    assert "checkpoint" not in created, "the files alone said the branches were apart"


def test_with_measuring_off_the_branches_are_applied_in_the_other_order_as_ever(pg_server, monkeypatch,
                                                                                 tmp_path):
    root = build_project(tmp_path / "project", merged(
        Rev("0002", "0001", NOTES, 'op.drop_table("notes")'),
        Rev("0003", "0001", 'op.create_index("ix_items_name", "items", ["name"])')),
        settings="measure = false\n")

    run, stage, created = stage_run(pg_server, monkeypatch, root)

    assert stage.findings == []
    assert run.summaries["merge-order"] == ("1 merge revision(s); their branches applied in 1 other order(s) "
                                            "besides the build's")
    assert "checkpoint" in created


def test_rows_two_branches_change_through_op_execute_are_caught_in_the_other_order(pg_server, monkeypatch,
                                                                                    tmp_path):
    # Alembic applies 0003 first: nothing to delete yet, then the row is added.
    root = build_project(tmp_path / "project", merged(
        Rev("0002", "0001", "op.execute(\"INSERT INTO items (name) VALUES ('seed')\")"),
        Rev("0003", "0001", "op.execute(\"DELETE FROM items WHERE name = 'seed'\")")))

    run, stage, created = stage_run(pg_server, monkeypatch, root)

    [finding] = stage.findings
    assert finding.code == "merge-order-differs" and finding.revision == "0004"
    assert finding.object == "table items"
    assert "0002 (0002_revision.py) and 0003 (0003_revision.py)" in finding.message
    assert ("table items: 1 row(s) in a fresh database (0003's branch first), 0 in one that got 0002's "
            "branch first") in finding.message
    assert "checkpoint" in created, "what op.execute touches is not in the file: the copy was kept"
    assert "applied in 1 other order(s)" in run.summaries["merge-order"]


def test_a_table_the_files_do_not_name_shows_in_the_measurements_and_the_order_is_applied(
        pg_server, monkeypatch, tmp_path):
    # kids inherits items: adding a column to items adds it to kids, which the other branch
    # changes. The files name other tables; the build's measurements name kids for both.
    inherit = 'op.execute("CREATE TABLE kids (age integer) INHERITS (items)")'
    root = build_project(tmp_path / "project", [
        Rev("0001", None, textwrap.dedent(items_revision().upgrade) + "\n" + inherit),
        Rev("0002", "0001", 'op.add_column("items", sa.Column("c", sa.Integer))'),
        Rev("0003", "0001", 'op.add_column("kids", sa.Column("c", sa.Integer))'),
        merge("0004", "0002", "0003")])

    run, stage, created = stage_run(pg_server, monkeypatch, root)

    assert "checkpoint" not in created, "the files alone said the branches were apart"
    [finding] = stage.findings
    assert finding.code == "merge-order-fails" and finding.revision == "0003"
    assert "0002's branch first" in finding.message
    assert 'column "c" of relation "kids" already exists' in finding.message
    assert "applied in 1 other order(s)" in run.summaries["merge-order"]


def test_a_branch_creating_an_enum_type_the_other_uses_goes_through_the_real_check(pg_server, monkeypatch,
                                                                                   tmp_path):
    # Alembic applies 0003 first: the type is there when 0002 uses it; the other way round not.
    uses = ('op.add_column("items", sa.Column("mood", sa.dialects.postgresql.ENUM("happy", "sad", '
            'name="mood", create_type=False)))')
    root = build_project(tmp_path / "project", merged(
        Rev("0002", "0001", uses),
        Rev("0003", "0001", "op.execute(\"CREATE TYPE mood AS ENUM ('happy', 'sad')\")")))

    run, stage, _ = stage_run(pg_server, monkeypatch, root)

    [finding] = stage.findings
    assert finding.code == "merge-order-fails"
    assert finding.revision == "0002" and finding.object == "0003"
    assert 'type "mood" does not exist' in finding.message
    assert "runs before 0003 (0003_revision.py)" in finding.message


def revision_file(tmp_path, body: str) -> str:
    path = tmp_path / "rev.py"
    header = "import sqlalchemy as sa\nfrom alembic import op\nfrom sqlalchemy import Column, Integer\n\n\n"
    path.write_text(header + "def upgrade():\n" + textwrap.indent(textwrap.dedent(body), "    "))
    return str(path)


@pytest.mark.parametrize(("body", "names"), [
    ('op.create_table("a", Column("id", Integer, primary_key=True), '
     'sa.Column("b_id", sa.Integer, sa.ForeignKey("b.id")))', {"a", "b"}),
    ('op.create_foreign_key("fk", "a", "public.c", ["c_id"], ["id"])\n'
     'op.create_index(op.f("ix_a_x"), table_name="a", columns=["x"])', {"fk", "a", "c", "ix_a_x"}),
    ('op.add_column("a", sa.Column("n", sa.Integer, nullable=False, server_default=sa.text("0")))\n'
     'op.create_check_constraint("ck", "a", "n >= 0 AND n IN (1, 2)")', {"a", "ck"}),
    ('op.drop_index("ix_a")', {"ix_a"}),
    ('with op.batch_alter_table("a", schema="s") as batch_op:\n'
     '    batch_op.add_column(sa.Column("n", sa.Integer))\n'
     '    batch_op.create_foreign_key("fk_a_b", "b", ["b_id"], ["id"])\n'
     '    batch_op.create_index(batch_op.f("ix_a_n"), ["n"])', {"a", "fk_a_b", "b", "ix_a_n"}),
])
def test_the_files_name_the_relations_op_calls_name(tmp_path, body, names):
    assert named_in_file(revision_file(tmp_path, body)) == names


@pytest.mark.parametrize("body", [
    'op.execute("UPDATE a SET n = 1")',
    'op.get_bind().execute(sa.text("SELECT 1"))',
    'op.bulk_insert(sa.table("a", sa.column("n")), [{"n": 1}])',
    'op.drop_table("a", if_exists=True)',
    'name = "a"\nop.drop_table(name)',
    'op.add_column("a", sa.Column("m", sa.Enum("x", "y", name="mood")))',
    'op.add_column("a", sa.Column("n", sa.Integer, server_default=sa.text("next_number()")))',
    'op.create_check_constraint("ck", "a", "n IN (SELECT n FROM b)")',
    'for table in ("a", "b"):\n    op.drop_table(table)',
    'helper("a")',
    'with op.batch_alter_table("a") as batch_op:\n    batch_op.execute("UPDATE a SET n = 1")',
    'with op.batch_alter_table("a") as batch_op:\n    op.execute("UPDATE b SET n = 1")',
])
def test_what_the_files_cannot_follow_names_nothing(tmp_path, body):
    assert named_in_file(revision_file(tmp_path, body)) is None


def test_a_module_that_binds_op_to_something_else_names_nothing(tmp_path):
    path = revision_file(tmp_path, 'op.drop_table("a")\n')
    with open(path, "a") as file:
        file.write('\n\nop = __import__("our_migrations").op\n')
    assert named_in_file(path) is None
