"""drift compares what env.py's autogenerate filters let it compare, and no more.

Each project is correct as its env.py defines correct: objects its filters exclude, and
objects SQLAlchemy models cannot declare, must not be reported. The last test shows the
same kinds of object are compared once the models do declare them.
"""

from __future__ import annotations

import pytest
from projects import CREATE_ITEMS, ITEMS_MODELS, MAKE_REPORTING_ROLE, Rev, assert_clean, build_project


def filtered_project(root, filters: str, upgrade: str, downgrade: str, models: str = ITEMS_MODELS):
    revisions = [Rev("0001", None, CREATE_ITEMS, 'op.drop_table("items")'),
                 Rev("0002", "0001", upgrade, downgrade)]
    return build_project(root, revisions, models=models, env="filters", files={"app/filters.py": filters})


SEARCH_COLUMN = """\
op.add_column("items", sa.Column("search", sa.dialects.postgresql.TSVECTOR))
op.create_check_constraint("ck_items_search", "items", "search IS NOT NULL OR name <> ''")
op.create_index("ix_items_search", "items", ["search"], postgresql_using="gin")
"""


def test_columns_and_indexes_include_object_excludes_are_not_drift(verify, tmp_path):
    filters = """\
    def include_object(obj, name, type_, reflected, compare_to):
        return not (type_ in ("column", "index") and "search" in name)
    """
    project = filtered_project(tmp_path / "project", filters, SEARCH_COLUMN,
                               'op.drop_index("ix_items_search", table_name="items")\n'
                               'op.drop_constraint("ck_items_search", "items")\n'
                               'op.drop_column("items", "search")')
    assert_clean(verify(project))


def test_tables_include_name_excludes_are_not_drift(verify, tmp_path):
    filters = """\
    def include_name(name, type_, parent_names):
        return not (type_ == "table" and name.startswith("legacy_"))
    """
    project = filtered_project(
        tmp_path / "project", filters,
        'op.create_table("legacy_audit", sa.Column("id", sa.Integer, primary_key=True),\n'
        '                sa.Column("at", sa.DateTime, server_default=sa.text("now()")))',
        'op.drop_table("legacy_audit")')
    assert_clean(verify(project))


def reporting_project(root, include_schemas: bool):
    """A table the migrations make in a schema of its own, which no model declares."""
    return filtered_project(
        root, f"include_schemas = {include_schemas}\n",
        'op.execute("CREATE SCHEMA reporting")\n'
        'op.create_table("daily", sa.Column("day", sa.Date, primary_key=True), schema="reporting")',
        'op.drop_table("daily", schema="reporting")\nop.execute("DROP SCHEMA reporting")')


def test_other_schemas_are_not_drift_without_include_schemas(verify, tmp_path):
    # Autogenerate reflects only the default schema unless include_schemas is set.
    assert_clean(verify(reporting_project(tmp_path / "project", include_schemas=False)))


def test_with_include_schemas_other_schemas_are_compared(verify, tmp_path):
    result = verify(reporting_project(tmp_path / "project", include_schemas=True), "--stage", "drift")

    assert result.code == 1, result.stdout
    objects = {f["object"] for f in result.findings("drift")}
    assert "reporting.daily" in objects, result.findings("drift")


def test_a_schema_holding_only_the_version_table_is_not_drift(verify, tmp_path):
    project = filtered_project(tmp_path / "project", 'version_table_schema = "meta"\n',
                               'op.add_column("items", sa.Column("note", sa.Text))',
                               'op.drop_column("items", "note")',
                               models=ITEMS_MODELS + 'items.append_column(sa.Column("note", sa.Text))\n')
    assert_clean(verify(project))


UNMODELLED = MAKE_REPORTING_ROLE + """\
op.execute("CREATE VIEW named_items AS SELECT id, name FROM items WHERE name <> ''")
op.execute("CREATE MATERIALIZED VIEW item_count AS SELECT count(*) AS n FROM items")
op.execute("CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$")
op.execute("CREATE TRIGGER items_touch BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION touch()")
op.execute("ALTER TABLE items ENABLE ROW LEVEL SECURITY")
op.execute("CREATE POLICY items_all ON items USING (true)")
op.execute("GRANT SELECT ON items TO reporting")
op.execute("GRANT UPDATE (name) ON items TO PUBLIC")
op.execute("GRANT USAGE ON SEQUENCE items_id_seq TO reporting")
op.execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reporting")
"""
DROP_UNMODELLED = """\
op.execute("ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM reporting")
op.execute("REVOKE USAGE ON SEQUENCE items_id_seq FROM reporting")
op.execute("REVOKE UPDATE (name) ON items FROM PUBLIC")
op.execute("REVOKE SELECT ON items FROM reporting")
op.execute("DROP POLICY items_all ON items")
op.execute("ALTER TABLE items DISABLE ROW LEVEL SECURITY")
op.execute("DROP TRIGGER items_touch ON items")
op.execute("DROP FUNCTION touch()")
op.execute("DROP MATERIALIZED VIEW item_count")
op.execute("DROP VIEW named_items")
"""


def test_views_functions_triggers_policies_and_grants_models_cannot_declare_are_not_drift(verify, tmp_path):
    assert_clean(verify(filtered_project(tmp_path / "project", "", UNMODELLED, DROP_UNMODELLED)))


def test_views_are_compared_once_the_models_declare_views(verify, tmp_path):
    # The models attach a view to the metadata with a DDL event, and it differs.
    models = ITEMS_MODELS + """\
sa.event.listen(metadata, "after_create", sa.DDL("CREATE VIEW named_items AS SELECT id FROM items"))
"""
    project = filtered_project(tmp_path / "project", "", UNMODELLED, DROP_UNMODELLED, models=models)
    result = verify(project, "--stage", "drift")

    assert result.code == 1, result.stdout
    found = [(f["code"], f["object"]) for f in result.findings("drift")]
    expected = [("drift-catalog", "view item_count"), ("drift-catalog", "view named_items")]
    assert sorted(found) == expected, found


def test_grants_are_compared_once_the_models_declare_grants(verify, tmp_path, pg_server):
    models = ITEMS_MODELS + """\
sa.event.listen(items, "after_create", sa.DDL("GRANT SELECT ON items TO reporting"))
sa.event.listen(items, "after_create", sa.DDL("GRANT SELECT ON items TO PUBLIC"))
"""
    project = filtered_project(tmp_path / "project", "", UNMODELLED, DROP_UNMODELLED, models=models)
    result = verify(project, "--stage", "drift")

    assert result.code == 1, result.stdout
    user = pg_server.endpoint.user
    found = {f["object"]: f["hint"].split(" in a new revision")[0] for f in result.findings("drift")}
    write = "autogenerate does not see this difference: write op.execute"
    assert found == {
        f"default privilege: grant SELECT on tables created by {user} to reporting":
            f'{write}("ALTER DEFAULT PRIVILEGES FOR ROLE {user} REVOKE SELECT ON TABLES FROM reporting")',
        "grant SELECT on table items to PUBLIC": f'{write}("GRANT SELECT ON TABLE items TO PUBLIC")',
        "grant UPDATE on column items.name to PUBLIC":
            f'{write}("REVOKE UPDATE (name) ON TABLE items FROM PUBLIC")',
        "grant USAGE on sequence items_id_seq to reporting":
            f'{write}("REVOKE USAGE ON SEQUENCE items_id_seq FROM reporting")',
    }, found


def test_constraints_only_the_database_has_are_offered_to_include_object_with_their_table(verify, tmp_path):
    # The filter reads obj.table, as real filters do: an unattached probe would raise.
    filters = """\
    def include_object(obj, name, type_, reflected, compare_to):
        return not (type_ == "unique_constraint" and reflected and obj.table.name == "items")
    """
    project = filtered_project(tmp_path / "project", filters,
                               'op.create_unique_constraint("uq_items_name", "items", ["name"])',
                               'op.drop_constraint("uq_items_name", "items")')
    assert_clean(verify(project))


COMPOSITE_MODELS = ITEMS_MODELS + """\
parent = sa.Table("parent", metadata, sa.Column("x", sa.Integer, primary_key=True),
                  sa.Column("y", sa.Integer, primary_key=True))
child = sa.Table("child", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("x", sa.Integer), sa.Column("y", sa.Integer),
                 sa.ForeignKeyConstraint(["x", "y"], ["parent.x", "parent.y"]))
"""
COMPOSITE_TABLES = """\
op.create_table("parent", sa.Column("x", sa.Integer, primary_key=True),
                sa.Column("y", sa.Integer, primary_key=True))
op.create_table("child", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("x", sa.Integer), sa.Column("y", sa.Integer),
                sa.ForeignKeyConstraint(["x", "y"], ["parent.x", "parent.y"]))
"""


@pytest.mark.parametrize("filters", ["", "def include_object(obj, name, type_, reflected, compare_to):\n"
                                         "    return True\n"])
def test_an_unnamed_composite_foreign_key_is_compared_not_crashed_on(verify, tmp_path, filters):
    project = filtered_project(tmp_path / "project", filters, COMPOSITE_TABLES,
                               'op.drop_table("child")\nop.drop_table("parent")', models=COMPOSITE_MODELS)
    assert_clean(verify(project))
