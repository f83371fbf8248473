"""Models that metadata.create_all cannot build: the drift stage errors with the cause,
the other stages still run, and the JSON report is written."""

from __future__ import annotations

import json

from cli_support import run_cli
from projects import CREATE_ITEMS, ITEMS_MODELS, Rev, assert_clean, build_project

from checks.run import MODELS_AHEAD_FROM

TRGM_MODELS = ITEMS_MODELS + """\
sa.Index("ix_items_name_trgm", items.c.name, postgresql_using="gin",
         postgresql_ops={"name": "gin_trgm_ops"})
"""
TRGM_INDEX = """\
op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
op.create_index("ix_items_name_trgm", "items", ["name"], postgresql_using="gin",
                postgresql_ops={"name": "gin_trgm_ops"})
"""


def test_an_index_needing_an_extension_names_the_extension_and_the_setting(verify, tmp_path):
    # The migrations forgot the index, and the extension its operator class comes from.
    project = build_project(tmp_path / "project", [Rev("0001", None, CREATE_ITEMS, 'op.drop_table("items")')],
                            models=TRGM_MODELS)
    result = verify(project)

    assert result.code == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    statuses = {s["name"]: s["status"] for s in result.report["stages"]}
    assert statuses["drift"] == "error" and statuses["roundtrip"] == "pass", statuses
    [finding] = result.findings("drift")
    assert finding["code"] == "models-unbuildable"
    assert finding["object"] == "index ix_items_name_trgm"
    assert 'operator class "gin_trgm_ops" does not exist' in finding["message"]
    assert 'extensions = ["pg_trgm"]' in finding["hint"]


def test_the_extensions_setting_creates_it_first_so_drift_can_compare(verify, tmp_path):
    project = build_project(tmp_path / "project", [Rev("0001", None, CREATE_ITEMS, 'op.drop_table("items")')],
                            models=TRGM_MODELS, settings='extensions = ["pg_trgm"]\n')
    result = verify(project, "--stage", "drift")

    assert result.code == 1, result.stdout + result.stderr
    found = [(f["code"], f["object"]) for f in result.findings("drift")]
    assert found == [("drift-autogenerate", "index items.ix_items_name_trgm")], found


def test_models_needing_an_extension_the_migrations_create_pass(verify, tmp_path):
    revisions = [Rev("0001", None, CREATE_ITEMS + TRGM_INDEX, 'op.drop_table("items")'),]
    result = verify(build_project(tmp_path / "project", revisions, models=TRGM_MODELS))
    assert result.stage("drift")["status"] == "pass", result.stdout
    # The extension the upgrade created is left by the downgrade: a real trace, not an error.
    assert result.stage("roundtrip")["status"] == "fail"


def test_two_checks_with_one_name_are_an_error_naming_the_table(verify, tmp_path):
    models = ITEMS_MODELS.replace('nullable=False))', 'nullable=False),\n'
                                  '                 sa.CheckConstraint("id > 0", name="ck_items"),\n'
                                  '                 sa.CheckConstraint("name <> \'\'", name="ck_items"))')
    project = build_project(tmp_path / "project", [Rev("0001", None, CREATE_ITEMS, 'op.drop_table("items")')],
                            models=models)
    result = verify(project)

    assert result.code == 1
    [finding] = result.findings("drift")
    assert (finding["code"], finding["object"]) == ("models-unbuildable", "table items"), finding
    assert 'constraint "ck_items" already exists' in finding["message"]
    assert result.stage("lint")["status"] in ("pass", "warn")


def test_an_extension_the_server_lacks_is_a_usage_error(verify, tmp_path):
    project = build_project(tmp_path / "project", [Rev("0001", None, CREATE_ITEMS, 'op.drop_table("items")')],
                            settings='extensions = ["no_such_extension"]\n')
    result = verify(project, "--stage", "fresh")

    assert result.code == 2
    assert "no_such_extension" in result.stderr and "extensions" in result.stderr
    assert result.report["status"] == "error"


def test_a_stale_report_never_passes_for_this_run(pg_server, tmp_path):
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"status": "pass", "stages": []}))
    result = run_cli("verify", "--project", str(tmp_path / "missing"), "--report-json", str(report))

    assert result.code == 2
    written = json.loads(report.read_text())
    assert written["status"] == "error" and "project directory not found" in written["error"]
    assert written["stages"] == []


def test_a_project_with_no_history_and_no_models_yet_passes(verify, tmp_path):
    models = "import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n"
    result = verify(build_project(tmp_path / "project", [], models=models))

    assert_clean(result)
    assert [f["code"] for f in result.findings("files")] == ["no-revisions"]
    assert result.findings("files")[0]["severity"] == "info"


def test_models_with_no_history_are_drift(verify, tmp_path):
    result = verify(build_project(tmp_path / "project", []))

    assert result.code == 1, result.stdout + result.stderr
    assert result.stage("files")["status"] == "pass"
    found = [(f["code"], f["object"]) for f in result.findings("drift")]
    assert ("drift-autogenerate", "items") in found, found


# The migration adds a CHECK constraint (which autogenerate does not compare); the models
# add it in a listener that uses its connection the way only a real one allows
# (exec_driver_sql), so they cannot be sent as one text and must go through create_all,
# listener and all.
LISTENER_MODELS = ITEMS_MODELS + """\


@sa.event.listens_for(items, "after_create")
def check_name(target, connection, **kw):
    connection.exec_driver_sql("ALTER TABLE items ADD CONSTRAINT ck_items_name CHECK (name <> '')")
"""
CHECKED_ITEMS = CREATE_ITEMS + 'op.create_check_constraint("ck_items_name", "items", "name <> \'\'")\n'


def test_models_whose_listeners_need_a_real_connection_are_built_as_create_all_builds_them(verify, tmp_path):
    revisions = [Rev("0001", None, CHECKED_ITEMS, 'op.drop_table("items")')]
    assert_clean(verify(build_project(tmp_path / "project", revisions, models=LISTENER_MODELS)))
    # Without the listener's constraint the catalog comparison names it: it would have told.
    result = verify(build_project(tmp_path / "bare", revisions), "--stage", "drift")
    found = [(f["code"], f["object"]) for f in result.findings("drift")]
    assert found == [("drift-catalog", "check constraint items.ck_items_name")], found


BESIDE = "the models' schema built by a worker process beside the history's build"


def _long(first_upgrade: str) -> list[Rev]:
    """A history long enough for the models' schema to be built beside it: its first
    revision, then revisions that change nothing."""
    revisions = [Rev("0001", None, first_upgrade, 'op.drop_table("items")')]
    for number in range(2, MODELS_AHEAD_FROM + 1):
        revisions.append(Rev(f"{number:04d}", revisions[-1].id))
    return revisions


def test_the_models_schema_is_built_beside_the_history(verify, tmp_path):
    project = build_project(tmp_path / "project", _long(CREATE_ITEMS), models=ITEMS_MODELS)
    result = verify(project, "--stage", "drift")

    assert result.code == 0, result.stdout + result.stderr
    assert result.stage("drift")["summary"] == BESIDE
    # One process: built in its turn, the same verdict.
    alone = verify(project, "--stage", "drift", env={"ALEMBIC_PREFLIGHT_SERIAL": "1"})
    assert alone.code == 0 and alone.stage("drift").get("summary") is None, alone.stdout


def test_a_short_history_has_its_models_built_in_turn(verify, tmp_path):
    project = build_project(tmp_path / "project", _long(CREATE_ITEMS)[:MODELS_AHEAD_FROM - 1],
                            models=ITEMS_MODELS)
    result = verify(project, "--stage", "drift")

    assert result.code == 0, result.stdout + result.stderr
    assert result.stage("drift").get("summary") is None


def test_a_model_difference_is_found_the_same_when_built_beside(verify, tmp_path):
    models = ITEMS_MODELS.replace("nullable=False)", "nullable=False, server_default='x')", 1)
    project = build_project(tmp_path / "project", _long(CREATE_ITEMS), models=models)
    result = verify(project, "--stage", "drift")

    assert result.stage("drift")["summary"] == BESIDE
    alone = verify(project, "--stage", "drift", env={"ALEMBIC_PREFLIGHT_SERIAL": "1"})
    found = [(f["code"], f["object"]) for f in result.findings("drift")]
    assert found and found == [(f["code"], f["object"]) for f in alone.findings("drift")], found


def test_an_extension_the_migrations_create_has_the_models_built_again_with_it(verify, tmp_path):
    # Built ahead, the models' database had no pg_trgm; head has it: built again with it.
    upgrade = CREATE_ITEMS + "op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')\n"
    project = build_project(tmp_path / "project", _long(upgrade), models=ITEMS_MODELS)
    result = verify(project, "--stage", "drift")

    assert result.code == 0, result.stdout + result.stderr
    assert result.findings("drift") == []
    assert result.stage("drift").get("summary") is None


def test_an_env_py_that_connects_in_any_mode_has_its_models_built_in_turn(verify, tmp_path):
    # It reads DATABASE_URL and connects even offline: ahead of the build it finds no
    # database there (none of the run's), and drift builds the models in its turn.
    project = build_project(tmp_path / "project", _long(CREATE_ITEMS), models=ITEMS_MODELS,
                            env="database_url")
    result = verify(project, "--stage", "drift")

    assert result.code == 0, result.stdout + result.stderr
    assert result.findings("drift") == []
    assert result.stage("drift").get("summary") is None
