"""recovery: each drill repairs a broken throwaway database with the tasks' own functions;
each has a fixture project whose history the documented repair does not survive."""

from __future__ import annotations

from pathlib import Path

from cli_support import EXAMPLE, needs_example
from projects import ITEMS_MODELS, Rev, assert_clean, build_project, items_revision

from checks.stages import DEFAULT_STAGES, STAGES

DRILLS = ("unknown-revision", "behind", "backup-restore", "history-under-data", "failed-migration",
          "startup")

# A NOT NULL column without a default: fine on the empty tables of every other stage.
ADD_REQUIRED = Rev("0002", "0001", 'op.add_column("items", sa.Column("price", sa.Integer, nullable=False))',
                   'op.drop_column("items", "price")', file="0002_price.py")
PRICE_MODELS = ITEMS_MODELS.replace('nullable=False))', 'nullable=False),\n'
                                    '                 sa.Column("price", sa.Integer, nullable=False))')


def _recovery(verify, project: Path):
    result = verify(project, "--stage", "recovery")
    assert result.report is not None, result.stderr
    return result


@needs_example
def test_example_passes_every_drill(verify):
    result = _recovery(verify, EXAMPLE)
    assert result.code == 0, result.stdout + result.stderr
    assert result.stage("recovery")["status"] == "pass", result.stdout
    codes = {f["code"] for f in result.findings("recovery")}
    assert codes >= {f"drill-{name}" for name in DRILLS}, codes


def test_clean_fixture_passes_every_stage_with_recovery(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()])
    # Every stage that a project alone can run: rolling needs a previous release from git, squash
    # a commit from before a squash (tests/squash).
    result = verify(project, *(arg for stage in STAGES if stage not in ("rolling", "squash")
                               for arg in ("--stage", stage)))
    assert_clean(result)
    assert result.stage("recovery")["status"] in ("pass", "warn")


def test_a_plain_run_leaves_the_drills_to_whoever_asks(verify, tmp_path):
    result = verify(build_project(tmp_path / "project", [items_revision()]))
    assert [s["name"] for s in result.report["stages"]] == DEFAULT_STAGES
    assert "recovery" not in DEFAULT_STAGES


def test_not_null_without_default_is_caught_by_the_drills_with_rows(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision(), ADD_REQUIRED], models=PRICE_MODELS)
    result = _recovery(verify, project)
    assert result.stage("recovery")["status"] == "fail"
    [behind] = result.findings("recovery", "upgrade-fails-with-rows")
    assert behind["revision"] == "0002" and "price" in behind["message"]
    [unknown] = result.findings("recovery", "drill-unknown-revision")
    assert unknown["revision"] == "0002" and "after the stamp" in unknown["message"]
    [under_data] = result.findings("recovery", "fails-with-rows")
    assert under_data["revision"] == "0002"
    assert under_data["message"].startswith("upgrade after downgrade of 0002 (0002_price.py)")


def test_downgrade_with_a_bad_cast_is_caught_under_data(verify, tmp_path):
    to_text = Rev("0002", "0001",
                  'op.alter_column("items", "id", type_=sa.Text, postgresql_using="id::text")',
                  'op.alter_column("items", "name", type_=sa.Integer, postgresql_using="name::integer")\n'
                  'op.alter_column("items", "id", type_=sa.Integer, postgresql_using="id::integer")',
                  file="0002_cast.py")
    models = ITEMS_MODELS.replace('sa.Column("id", sa.Integer', 'sa.Column("id", sa.Text')
    project = build_project(tmp_path / "project", [items_revision(), to_text], models=models)
    result = _recovery(verify, project)
    [finding] = result.findings("recovery", "fails-with-rows")
    assert finding["revision"] == "0002", finding
    assert finding["message"].startswith("downgrade of 0002 (0002_cast.py)"), finding
    assert "integer" in finding["message"]


# An index on a function that calls another unqualified: pg_restore runs with an empty
# search_path, so the index cannot be rebuilt once the table holds a row.
FUNCTION_INDEX = '''\
op.execute("CREATE FUNCTION inner_norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT lower(t) $$")
op.execute("CREATE FUNCTION norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT inner_norm(t) $$")
op.execute("CREATE INDEX ix_items_norm ON items (norm(name))")
'''
DROP_FUNCTION_INDEX = '''\
op.execute("DROP INDEX ix_items_norm")
op.execute("DROP FUNCTION norm(text)")
op.execute("DROP FUNCTION inner_norm(text)")
'''


def test_backup_that_does_not_restore_is_caught(verify, tmp_path):
    norm = Rev("0002", "0001", FUNCTION_INDEX, DROP_FUNCTION_INDEX, file="0002_norm.py")
    revisions = [items_revision(), norm]
    result = _recovery(verify, build_project(tmp_path / "project", revisions,
                                             settings='ignore = ["ix_items_norm", "norm", "inner_norm"]\n'))
    [finding] = result.findings("recovery", "backup-does-not-restore")
    assert "inner_norm" in finding["message"], finding
    assert "search_path" in finding["hint"]


# A stored generated column computed through a function declared IMMUTABLE that reads another
# table: pg_restore loads items before rates, so the restored row computes it from nothing.
RATE_OF = '''\
op.execute("CREATE TABLE rates (id integer PRIMARY KEY, pct integer NOT NULL)")
op.execute("CREATE FUNCTION rate_of(r integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE "
           "AS $$ BEGIN RETURN (SELECT pct FROM public.rates WHERE id = r); END $$")
op.execute("CREATE TABLE items (id integer PRIMARY KEY, rate_id integer NOT NULL REFERENCES rates, "
           "pct integer GENERATED ALWAYS AS (public.rate_of(rate_id)) STORED)")
'''
DROP_RATE_OF = 'op.execute("DROP TABLE items; DROP FUNCTION rate_of(integer); DROP TABLE rates")'


def test_a_restore_that_brings_back_other_rows_is_caught(verify, tmp_path):
    rate_of = Rev("0001", None, RATE_OF, DROP_RATE_OF, file="0001_rates.py")
    result = _recovery(verify, build_project(tmp_path / "project", [rate_of]))
    found = result.findings("recovery", "backup-restore-differs")
    assert len(found) == 1, result.stdout
    assert "rows of public.items differ after the restore" in found[0]["message"], found


def test_env_py_in_autocommit_leaves_a_failed_revision_half_applied(verify, tmp_path):
    template = Path(__file__).resolve().parents[1] / "fixtures" / "envs" / "sync_template.py"
    autocommit_env = template.read_text()
    autocommit_env = autocommit_env.replace("with connectable.connect() as connection:",
                                            'with connectable.execution_options(isolation_level="AUTOCOMMIT")'
                                            ".connect() as connection:")
    revisions = [items_revision(), Rev("0002", "0001", 'op.create_table("tags", sa.Column("id", sa.Integer))',
                                       'op.drop_table("tags")', file="0002_tags.py")]
    models = ITEMS_MODELS + 'tags = sa.Table("tags", metadata, sa.Column("id", sa.Integer))\n'
    project = build_project(tmp_path / "project", revisions, models=models,
                            files={"migrations/env.py": autocommit_env})
    result = _recovery(verify, project)
    [finding] = result.findings("recovery", "failure-half-applied")
    assert finding["revision"] == "0002" and finding["object"] == "env.py", finding
    assert "0002" in finding["message"] and "AUTOCOMMIT" in finding["hint"]


def test_revision_outside_a_transaction_is_named(verify, tmp_path):
    concurrently = Rev("0002", "0001",
                       'with op.get_context().autocommit_block():\n'
                       '    op.create_index("ix_items_name", "items", ["name"],\n'
                       '                    postgresql_concurrently=True)',
                       'op.drop_index("ix_items_name", table_name="items")', file="0002_index.py")
    models = ITEMS_MODELS + 'sa.Index("ix_items_name", items.c.name)\n'
    result = _recovery(verify, build_project(tmp_path / "project", [items_revision(), concurrently],
                                             models=models))
    assert result.code == 0, result.stdout
    assert result.stage("recovery")["status"] == "warn"
    [finding] = result.findings("recovery", "not-transactional")
    assert finding["revision"] == "0002" and "indisvalid" in finding["hint"]


def test_instances_migrating_on_boot_without_a_lock_race(verify, tmp_path):
    # Alembic's own template takes no lock: the losers of the race fail to boot.
    result = _recovery(verify, build_project(tmp_path / "project", [items_revision()]))
    assert result.code == 0, result.stdout
    [finding] = result.findings("recovery", "startup-race")
    assert finding["severity"] == "warning" and finding["object"] == "env.py"
    assert "already exists" in finding["message"] or "duplicate key" in finding["message"], finding
    assert "pg_advisory_lock" in finding["hint"] and "one-off job" in finding["hint"]
