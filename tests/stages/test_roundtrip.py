"""roundtrip: every downgrade runs, and leaves the schema exactly as it found it."""

from __future__ import annotations

import pytest
from projects import (
    CORE_STAGES,
    CREATE_ITEMS,
    CREATE_TAGS,
    DROP_ITEMS,
    ITEMS_MODELS,
    MAKE_REPORTING_ROLE,
    TAGS_MODELS,
    Rev,
    assert_clean,
    build_project,
    items_revision,
)

from checks.parallel import beside, segments


def test_downgrade_that_raises_is_named(verify, tmp_path):
    revisions = [items_revision(),
                 Rev("0002", "0001", CREATE_TAGS, 'op.drop_table("no_such_table")', file="0002_tags.py")]
    result = verify(build_project(tmp_path / "project", revisions, models=TAGS_MODELS))

    assert result.code == 1
    statuses = {s["name"]: s["status"] for s in result.report["stages"]}
    assert [statuses[name] for name in CORE_STAGES] == ["pass", "pass", "pass", "pass", "fail"]
    [finding] = result.findings("roundtrip")
    assert finding["code"] == "downgrade-failed"
    assert finding["revision"] == "0002"
    assert finding["object"].endswith("0002_tags.py")
    assert 'table "no_such_table" does not exist' in finding["message"]


def test_downgrade_leaving_its_enum_type_behind_is_named(verify, tmp_path):
    # drop_table does not drop the enum type create_table made implicitly.
    revisions = [items_revision(), Rev("0002", "0001", CREATE_TAGS, 'op.drop_table("tags")'),
                 Rev("0003", "0002")]
    result = verify(build_project(tmp_path / "project", revisions, models=TAGS_MODELS))

    assert result.code == 1
    found = result.findings("roundtrip")
    # The leftover type is named, and then trips the upgrade that runs after the downgrades.
    assert [(f["code"], f["revision"]) for f in found] == [
        ("downgrade-leaves-trace", "0002"), ("reupgrade-failed", "0002")], found
    assert "tag_kind" in found[0]["object"]
    assert "the downgraded schema" in found[0]["message"]
    assert 'type "tag_kind" already exists' in found[1]["message"]


def test_history_with_a_merge_passes_every_stage(verify, tmp_path):
    models = ITEMS_MODELS + 'items.append_column(sa.Column("a", sa.Integer))\n' \
                            'items.append_column(sa.Column("b", sa.Integer))\n'
    revisions = [items_revision(),
                 Rev("0002", "0001", 'op.add_column("items", sa.Column("a", sa.Integer))',
                     'op.drop_column("items", "a")'),
                 Rev("0003", "0001", 'op.add_column("items", sa.Column("b", sa.Integer))',
                     'op.drop_column("items", "b")'),
                 Rev("0004", ("0002", "0003")),
                 Rev("0005", "0004", 'op.create_index("ix_items_a", "items", ["a"])',
                     'op.drop_index("ix_items_a", table_name="items")')]
    models += 'sa.Index("ix_items_a", items.c.a)\n'
    result = verify(build_project(tmp_path / "project", revisions, models=models))

    assert_clean(result)
    report = result.report
    assert set(report) >= {"project", "backend", "postgres_version", "status", "stages"}
    assert report["backend"] == "url" and report["postgres_version"][0].isdigit()
    for stage in report["stages"]:
        # "summary": a stage's line on what it covered (lint: revisions skipped as released);
        # "deploy_risk": the locks, rewrites and scans the fresh build measured
        assert set(stage) - {"summary", "deploy_risk"} == {"name", "status", "duration_s", "findings"}
        assert isinstance(stage["duration_s"], float | int)


def test_downgrade_floor_spares_revisions_older_than_it(verify, tmp_path):
    # 0001 cannot be undone (a data migration, say); the project promises rollbacks from 0002 on.
    revisions = [Rev("0001", None, CREATE_ITEMS, 'raise RuntimeError("irreversible: cannot be undone")'),
                 Rev("0002", "0001", CREATE_TAGS, 'op.drop_table("tags")\nop.execute("DROP TYPE tag_kind")')]
    project = build_project(tmp_path / "project", revisions, models=TAGS_MODELS,
                            settings='downgrade_floor = "0002"\n')
    assert_clean(verify(project))

    (project / "pyproject.toml").unlink()
    result = verify(project, "--stage", "roundtrip")
    [finding] = result.findings("roundtrip")
    assert (finding["code"], finding["revision"]) == ("downgrade-failed", "0001")


def test_upgrade_that_builds_something_else_the_second_time_is_reported(verify, tmp_path):
    # A default computed when the revision runs: every database gets a different schema,
    # which only a second upgrade of the same history shows.
    upgrade = """\
    import uuid
    op.add_column("items", sa.Column("token", sa.Text, server_default=str(uuid.uuid4())))
    """
    revisions = [items_revision(), Rev("0002", "0001", upgrade, 'op.drop_column("items", "token")')]
    result = verify(build_project(tmp_path / "project", revisions), "--stage", "roundtrip")

    assert result.code == 1, result.stdout + result.stderr
    found = result.findings("roundtrip")
    assert [f["code"] for f in found] == ["roundtrip-differs"], found
    assert found[0]["object"] == "items.token"
    assert "default" in found[0]["message"]


def test_a_declared_one_way_downgrade_ends_the_trip_with_a_warning(verify, tmp_path):
    # 0002 raises NotImplementedError on purpose, as the lint rule advises; 0003 above it is
    # still round-tripped, and the comment its downgrade leaves is still named.
    revisions = [items_revision(),
                 Rev("0002", "0001", CREATE_TAGS, 'raise NotImplementedError("tags are forever")',
                     file="0002_tags.py"),
                 Rev("0003", "0002", "op.execute(\"COMMENT ON TABLE items IS 'stock'\")")]
    project = build_project(tmp_path / "project", revisions, models=TAGS_MODELS)
    result = verify(project, "--stage", "roundtrip")

    found = result.findings("roundtrip")
    assert [(f["code"], f["severity"], f["revision"]) for f in found] == [
        ("one-way-revision", "warning", "0002"), ("downgrade-leaves-trace", "error", "0003")], found
    assert "NotImplementedError" in found[0]["message"] and found[0]["object"].endswith("0002_tags.py")
    assert 'downgrade_floor = "0003"' in found[0]["hint"]
    assert found[1]["object"] == "table items" and "comment" in found[1]["message"]


def test_a_one_way_revision_alone_is_a_warning_not_a_failure(verify, tmp_path):
    revisions = [items_revision(),
                 Rev("0002", "0001", CREATE_TAGS, 'raise NotImplementedError("tags are forever")')]
    project = build_project(tmp_path / "project", revisions, models=TAGS_MODELS)
    result = verify(project, "--stage", "roundtrip")

    assert result.code == 0, result.stdout + result.stderr
    assert result.stage("roundtrip")["status"] == "warn"
    assert [f["code"] for f in result.findings("roundtrip")] == ["one-way-revision"]


def test_every_downgrade_failure_hint_names_the_floor(verify, tmp_path):
    revisions = [items_revision(),
                 Rev("0002", "0001", CREATE_TAGS, 'op.drop_table("no_such_table")'),
                 Rev("0003", "0002")]
    project = build_project(tmp_path / "project", revisions, models=TAGS_MODELS)
    result = verify(project, "--stage", "roundtrip")

    [finding] = result.findings("roundtrip")
    assert finding["code"] == "downgrade-failed"
    assert 'downgrade_floor = "0003"' in finding["hint"], finding["hint"]


ADD_PURPLE = "op.execute(\"ALTER TYPE tag_kind ADD VALUE {guard}'purple'\")"


def _enum_label_project(root, guard: str, settings: str | None = None):
    models = TAGS_MODELS.replace('"red", "blue"', '"red", "blue", "purple"')
    revisions = [items_revision(),
                 Rev("0002", "0001", CREATE_TAGS, 'op.drop_table("tags")\nop.execute("DROP TYPE tag_kind")'),
                 # PostgreSQL 12+ runs ADD VALUE inside a transaction; it has no DROP VALUE.
                 Rev("0003", "0002", ADD_PURPLE.format(guard=guard), "pass")]
    return build_project(root, revisions, models=models, settings=settings)


def test_an_enum_label_a_downgrade_cannot_drop_is_a_warning(verify, tmp_path):
    result = verify(_enum_label_project(tmp_path / "project", guard="IF NOT EXISTS "))

    assert result.code == 0, result.stdout + result.stderr
    [finding] = result.findings("roundtrip")
    assert (finding["code"], finding["severity"]) == ("enum-label-kept", "warning")
    assert finding["revision"] == "0003"
    assert finding["object"] == "enum tag_kind" and "'purple'" in finding["message"]
    assert "cannot drop an enum label" in finding["message"]


def test_an_enum_label_that_breaks_the_re_upgrade_is_a_failure(verify, tmp_path):
    # Walking all the way down would drop the whole type before 0003 ran again; the
    # staircase re-runs 0003 on the state its own downgrade left.
    result = verify(_enum_label_project(tmp_path / "project", guard=""), "--stage", "roundtrip")

    assert result.code == 1, result.stdout + result.stderr
    codes = [(f["code"], f["revision"]) for f in result.findings("roundtrip")]
    assert codes == [("enum-label-kept", "0003"), ("reupgrade-failed", "0003")], codes
    assert 'already exists' in result.findings("roundtrip")[1]["message"]


def test_an_upgrade_that_cannot_run_twice_is_named_by_the_staircase(verify, tmp_path):
    # 0002 seeds a row its downgrade keeps: harmless to the schema, fatal to a re-upgrade.
    models = ITEMS_MODELS.replace('nullable=False))', 'nullable=False, unique=True))')
    revisions = [Rev("0001", None, CREATE_ITEMS.replace("nullable=False)", "nullable=False, unique=True)"),
                     DROP_ITEMS),
                 Rev("0002", "0001", "op.execute(\"INSERT INTO items (name) VALUES ('default')\")", "pass",
                     file="0002_seed.py"),
                 Rev("0003", "0002")]
    result = verify(build_project(tmp_path / "project", revisions, models=models), "--stage", "roundtrip")

    assert result.code == 1, result.stdout + result.stderr
    [finding] = result.findings("roundtrip")
    assert (finding["code"], finding["revision"]) == ("reupgrade-failed", "0002"), finding
    assert finding["object"].endswith("0002_seed.py") and "duplicate key" in finding["message"]


def test_the_revision_at_the_bottom_of_the_walk_is_upgraded_again_too(verify, tmp_path):
    # 0001's downgrade forgets the publication it made (which the schema comparison does not
    # read): only upgrading 0001 a second time shows it, and 0001 is where the walk ends.
    upgrade = CREATE_ITEMS + 'op.execute("CREATE PUBLICATION items_feed FOR TABLE items")'
    revisions = [Rev("0001", None, upgrade, DROP_ITEMS, file="0001_feed.py"), Rev("0002", "0001")]
    project = build_project(tmp_path / "project", revisions)
    # One walk in this process, never split with a worker (which would walk 0001 itself).
    result = verify(project, "--stage", "roundtrip", env={beside.SERIAL_ENV: "1"})

    assert result.code == 1, result.stdout + result.stderr
    found = result.findings("roundtrip")
    assert [(f["code"], f["revision"]) for f in found] == [("reupgrade-failed", "0001")], found
    assert 'publication "items_feed" already exists' in found[0]["message"], found[0]


def test_a_downgrade_that_leaves_its_index_behind_is_named_with_the_index(verify, tmp_path):
    revisions = [items_revision(),
                 Rev("0002", "0001", 'op.create_index("ix_items_name", "items", ["name"])', "pass",
                     file="0002_index.py")]
    result = verify(build_project(tmp_path / "project", revisions), "--stage", "roundtrip")

    assert result.code == 1, result.stdout + result.stderr
    found = result.findings("roundtrip")
    assert [(f["code"], f["revision"], f["object"]) for f in found[:1]] == [
        ("downgrade-leaves-trace", "0002", "index items.ix_items_name")], found
    assert "ix_items_name" in found[0]["message"] and found[0]["file"].endswith("0002_index.py"), found[0]


def test_a_policy_and_row_security_a_downgrade_leaves_are_named(verify, tmp_path):
    # Models cannot declare them, so drift leaves them alone; the round trip still checks them.
    upgrade = """\
    op.execute("ALTER TABLE items ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY items_named ON items FOR SELECT USING (name <> '')")
    """
    revisions = [items_revision(), Rev("0002", "0001", upgrade, 'op.execute("SELECT 1")')]
    result = verify(build_project(tmp_path / "project", revisions))

    assert result.stage("drift")["status"] == "pass", result.stdout
    found = [(f["code"], f["revision"], f["object"]) for f in result.findings("roundtrip")]
    assert ("downgrade-leaves-trace", "0002", "table items") in found, found
    assert ("downgrade-leaves-trace", "0002", "policy items.items_named") in found, found


# Looks for its table through an engine of its own before creating it (mealie's first
# revision does): it sees only what is committed.
CHECKS_ON_ITS_OWN = """\
from sqlalchemy import engine_from_config
config = op.get_context().config
engine = engine_from_config(config.get_section(config.config_ini_section), prefix="sqlalchemy.",
                            poolclass=sa.pool.NullPool)
exists = sa.inspect(engine).has_table("items")
engine.dispose()
if not exists:
""" + "\n".join("    " + line for line in CREATE_ITEMS.splitlines())


def test_a_revision_that_looks_through_its_own_connection_sees_its_downgrade(verify, tmp_path):
    # Downgrade and re-upgrade are two commands, each committed: the re-upgrade's own look
    # finds the table gone, as it would after `alembic downgrade -1`, and creates it again.
    project = build_project(tmp_path / "p", [Rev("0001", None, CHECKS_ON_ITS_OWN, DROP_ITEMS)])
    assert_clean(verify(project))


def test_a_trace_is_blamed_on_the_downgrade_that_left_it_not_on_the_re_upgrade_below(verify, tmp_path):
    # full-stack-fastapi-template's shape: 0003's downgrade leaves a default behind; 0002's
    # re-upgrade then runs on a schema that has it, and builds nothing different itself.
    revisions = [items_revision(),
                 Rev("0002", "0001", 'op.add_column("items", sa.Column("note", sa.Text))',
                     'op.drop_column("items", "note")'),
                 Rev("0003", "0002", "op.alter_column(\"items\", \"name\", server_default=\"x\")", "pass")]
    project = build_project(tmp_path / "project", revisions)
    result = verify(project, "--stage", "fresh", "--stage", "roundtrip")

    found = [(f["code"], f["revision"], f["object"]) for f in result.findings("roundtrip")]
    assert found == [("downgrade-leaves-trace", "0003", "items.name")], found


def test_a_revision_without_downgrade_is_one_way_not_a_broken_env(verify, tmp_path):
    # The others write downgrades; 0002 has none: Alembic cannot roll back past it, as
    # when it raises NotImplementedError, and 0003 above it is still round-tripped.
    revisions = [items_revision(), Rev("0002", "0001", CREATE_TAGS, None, file="0002_tags.py"),
                 Rev("0003", "0002", "op.execute(\"COMMENT ON TABLE items IS 'stock'\")")]
    project = build_project(tmp_path / "project", revisions, models=TAGS_MODELS)
    result = verify(project, "--stage", "roundtrip")

    assert result.code == 1, result.stdout + result.stderr
    found = result.findings("roundtrip")
    assert [(f["code"], f["severity"], f["revision"]) for f in found] == [
        ("one-way-revision", "warning", "0002"), ("downgrade-leaves-trace", "error", "0003")], found
    assert "0002_tags.py) defines no downgrade()" in found[0]["message"]
    assert "env.py" not in result.stdout + result.stderr

    result = verify(project)
    assert [f["code"] for f in result.findings("files")] == ["missing-downgrade"], "still an error there"


def test_a_trip_that_stops_says_how_many_revisions_below_were_not_walked(verify, tmp_path):
    # Split or not (the worker walks 0001..0002), the trip ends at 0003 and 0002, 0001 are never walked.
    revisions = [items_revision(), Rev("0002", "0001"),
                 Rev("0003", "0002", CREATE_TAGS, 'op.drop_table("no_such_table")'), Rev("0004", "0003")]
    project = build_project(tmp_path / "project", revisions, models=TAGS_MODELS)
    for env in ({segments.MIN_ENV: "2"}, {beside.SERIAL_ENV: "1"}):
        result = verify(project, "--stage", "roundtrip", env=env)
        [finding] = result.findings("roundtrip")
        assert (finding["code"], finding["revision"]) == ("downgrade-failed", "0003"), finding
        assert "the round trip stopped there: 2 revision(s) below it (0001..0002) were not walked" \
            in finding["message"], finding["message"]
        assert 'downgrade_floor = "0004" ([tool.alembic-preflight] of pyproject.toml' in finding["hint"], \
            finding["hint"]


def _grant_project(root, grant: str, revoke: str):
    revisions = [items_revision(), Rev("0002", "0001", MAKE_REPORTING_ROLE + f'op.execute("{grant}")',
                                       f'op.execute("{revoke}")', file="0002_grants.py"),
                 Rev("0003", "0002")]
    return build_project(root, revisions)


# What the upgrade grants, the difference its downgrade leaves, and the statement that undoes it.
GRANTS_LEFT_BEHIND = {
    "table": ("GRANT SELECT ON items TO reporting", "grant SELECT on table items to reporting",
              "REVOKE SELECT ON TABLE items FROM reporting"),
    "column": ("GRANT UPDATE (name) ON items TO PUBLIC", "grant UPDATE on column items.name to PUBLIC",
               "REVOKE UPDATE (name) ON TABLE items FROM PUBLIC"),
    "sequence": ("GRANT USAGE ON SEQUENCE items_id_seq TO reporting WITH GRANT OPTION",
                 "grant USAGE on sequence items_id_seq to reporting",
                 "REVOKE USAGE ON SEQUENCE items_id_seq FROM reporting"),
    "default": ("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reporting",
                "default privilege: grant SELECT on tables created by {user} to reporting",
                "ALTER DEFAULT PRIVILEGES FOR ROLE {user} REVOKE SELECT ON TABLES FROM reporting"),
}


@pytest.mark.parametrize("grant, named, undo", GRANTS_LEFT_BEHIND.values(), ids=GRANTS_LEFT_BEHIND.keys())
def test_a_grant_the_downgrade_does_not_revoke_is_a_trace(verify, tmp_path, pg_server, grant, named, undo):
    # Models cannot declare grants: drift leaves them alone; the round trip names the one left behind.
    named, undo = (text.format(user=pg_server.endpoint.user) for text in (named, undo))
    result = verify(_grant_project(tmp_path / "project", grant, "SELECT 1"))

    assert result.stage("drift")["status"] == "pass", result.stdout
    finding, *after = result.findings("roundtrip")
    # A default privilege left behind gives the table 0001 makes again a grant it did not have.
    consequences = [("roundtrip-differs", "0001", "grant SELECT on table items to reporting")]
    found = [(f["code"], f["revision"], f["object"]) for f in after]
    assert found == (consequences if "DEFAULT" in grant else []), found
    assert (finding["code"], finding["revision"]) == ("downgrade-leaves-trace", "0002"), finding
    assert finding["object"] == named
    assert finding["message"].startswith(
        f"downgrade of 0002 (0002_grants.py) does not undo its upgrade: {named}: exists in the downgraded "
        "schema, missing in the schema before the upgrade"), finding["message"]
    assert finding["file"].endswith("0002_grants.py")
    assert finding["hint"] == f'make downgrade() in 0002_grants.py undo it too: op.execute("{undo}")'
    # The statement the hint gives makes the downgrade clean.
    assert_clean(verify(_grant_project(tmp_path / "fixed", grant, undo)))


REVOKES = {
    "table": ("GRANT SELECT ON items TO reporting", "REVOKE SELECT ON items FROM reporting"),
    "column": ("GRANT UPDATE (name) ON items TO PUBLIC", "REVOKE UPDATE (name) ON items FROM PUBLIC"),
    "default": ("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO reporting",
                "ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM reporting"),
}


@pytest.mark.parametrize("grant, revoke", REVOKES.values(), ids=REVOKES.keys())
def test_a_downgrade_that_revokes_its_grant_passes_every_stage(verify, tmp_path, grant, revoke):
    assert_clean(verify(_grant_project(tmp_path / "project", grant, revoke)))


def test_a_grant_left_in_the_lower_half_of_a_split_trip_is_named(verify, tmp_path):
    # The worker walks 0001..0002 on a database of its own; one walk from head, the same.
    project = _grant_project(tmp_path / "project", "GRANT SELECT ON items TO reporting", "SELECT 1")
    for env in ({segments.MIN_ENV: "2"}, {beside.SERIAL_ENV: "1"}):
        result = verify(project, "--stage", "roundtrip", env=env)
        found = [(f["code"], f["revision"], f["object"]) for f in result.findings("roundtrip")]
        assert found == [("downgrade-leaves-trace", "0002", "grant SELECT on table items to reporting")], \
            found
