"""fresh, measured: the lock each revision takes on the tables that existed before it, what
that lock blocks, and the rewrites and full scans it holds it for, read on the migration's own
session while the fresh build applies it.

One history, one revision per measured fact, built once with env.py committing each revision
(transaction_per_migration, as a deploy of that one revision would), and the lock modes
PostgreSQL's manual gives for each statement asserted exactly. A second history puts each
rewrite or scan beside statements that do neither: the fix names the statement behind it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import sqlalchemy
from cli_support import run_cli
from projects import Rev, build_project, per_migration_env

from checks.measure.findings import _HINTS

SA2 = int(sqlalchemy.__version__.split(".")[0]) >= 2

MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
"""
CREATE = """\
op.create_table("items", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(100)), sa.Column("n", sa.Integer))
"""
# revision -> its upgrade()
FACTS = {
    "0002": 'op.alter_column("items", "n", type_=sa.BigInteger)',  # int to bigint
    "0003": 'op.alter_column("items", "name", type_=sa.String(200))',  # varchar widened
    "0004": 'op.add_column("items", sa.Column("qty", sa.Integer, server_default="0"))',
    "0005": 'op.add_column("items", sa.Column("seen", sa.DateTime, '
            'server_default=sa.text("clock_timestamp()")))',  # a volatile default
    "0006": 'op.alter_column("items", "n", nullable=False)',
    "0007": 'op.execute("ALTER TABLE items ADD CONSTRAINT n_positive CHECK (n > 0) NOT VALID")',
    "0008": 'op.execute("ALTER TABLE items VALIDATE CONSTRAINT n_positive")',
    "0009": 'op.create_index("ix_items_name", "items", ["name"])',
    "0010": 'with op.get_context().autocommit_block():\n'
            '    op.create_index("ix_items_qty", "items", ["qty"], postgresql_concurrently=True)',
    "0011": 'op.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),\n'
            '                sa.Column("item_id", sa.Integer))\n'
            'op.create_index("ix_orders_item", "orders", ["item_id"])',
    "0012": 'op.create_foreign_key("fk_orders_item", "orders", "items", ["item_id"], ["id"])',
    # Straight through the DBAPI cursor: no SQLAlchemy event sees it, the revision's totals do.
    "0013": 'cursor = op.get_bind().connection.cursor()\n'
            'cursor.execute("ALTER TABLE items ADD COLUMN raw integer")\ncursor.close()',
}


def _history(facts: dict = FACTS) -> list[Rev]:
    revisions = [Rev("0001", None, CREATE)]
    for revision, upgrade in facts.items():
        revisions.append(Rev(revision, revisions[-1].id, upgrade))
    return revisions


@pytest.fixture(scope="module")
def measured(pg_server, tmp_path_factory):
    """The history verified once (fresh stage), with its JSON and JUnit reports."""
    root = tmp_path_factory.mktemp("deploy-risk")
    project = build_project(root / "project", _history(), models=MODELS,
                            files={"migrations/env.py": per_migration_env("sync_template")})
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    junit = root / "junit.xml"
    result = run_cli("verify", "--project", str(project), "--stage", "fresh", "-v",
                     "--report-junit", str(junit), url=url, report=root / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    return result, ET.parse(junit).getroot()


def _risk(result, revision: str) -> dict:
    [found] = [r for r in result.stage("fresh")["deploy_risk"] if r["revision"] == revision]
    return found


def _table(result, revision: str, table: str = "public.items") -> dict:
    [found] = [t for t in _risk(result, revision)["tables"] if t["table"] == table]
    return found


def _codes(result, revision: str) -> dict[str, str]:
    return {f["object"]: f["code"] for f in result.findings("fresh") if f["revision"] == revision}


def test_int_to_bigint_rewrites_the_table_under_access_exclusive(measured):
    result, _ = measured
    items = _table(result, "0002")
    assert (items["lock"], items["blocks"]) == ("ACCESS EXCLUSIVE", "reads and writes")
    assert "public.items" in items["rewritten"] and "public.items_pkey" in items["rewritten"]
    assert items["statements"] == ["ALTER TABLE items ALTER COLUMN n TYPE BIGINT"]
    assert _codes(result, "0002") == {"public.items": "deploy-rewrite"}


def test_a_widened_varchar_is_not_rewritten(measured):
    result, _ = measured
    items = _table(result, "0003")
    assert (items["lock"], items["rewritten"], items["full_scans"]) == ("ACCESS EXCLUSIVE", [], 0)
    assert _codes(result, "0003") == {"public.items": "deploy-lock"}


def test_a_constant_default_is_not_rewritten(measured):
    result, _ = measured
    items = _table(result, "0004")
    assert (items["lock"], items["rewritten"], items["full_scans"]) == ("ACCESS EXCLUSIVE", [], 0)


def test_a_volatile_default_rewrites_the_table(measured):
    result, _ = measured
    items = _table(result, "0005")
    assert items["lock"] == "ACCESS EXCLUSIVE" and "public.items" in items["rewritten"]
    assert _codes(result, "0005") == {"public.items": "deploy-rewrite"}


def test_set_not_null_scans_the_table_under_access_exclusive(measured):
    result, _ = measured
    items = _table(result, "0006")
    assert (items["lock"], items["rewritten"]) == ("ACCESS EXCLUSIVE", [])
    assert items["full_scans"] >= 1
    [finding] = [f for f in result.findings("fresh") if f["revision"] == "0006"]
    assert finding["code"] == "deploy-scan" and finding["severity"] == "warning"
    assert "NOT VALID" in finding["hint"]


def test_check_not_valid_scans_nothing_and_validate_scans_under_share_update_exclusive(measured):
    result, _ = measured
    added = _table(result, "0007")
    assert (added["lock"], added["full_scans"]) == ("ACCESS EXCLUSIVE", 0)
    validated = _table(result, "0008")
    assert (validated["lock"], validated["blocks"]) == ("SHARE UPDATE EXCLUSIVE", "DDL only")
    assert validated["full_scans"] >= 1
    assert _codes(result, "0008") == {}  # reads and writes go on while it validates


def test_create_index_blocks_writes_while_it_reads_the_table(measured):
    result, junit = measured
    items = _table(result, "0009")
    assert (items["lock"], items["blocks"]) == ("SHARE", "writes only")
    assert items["full_scans"] >= 1
    assert _risk(result, "0009")["created"] == ["public.ix_items_name"]
    [finding] = [f for f in result.findings("fresh") if f["revision"] == "0009"]
    assert finding["code"] == "deploy-scan" and "CONCURRENTLY" in finding["hint"]
    # A lock held while every row is read fails the revision's JUnit case.
    [case] = [c for c in junit.iter("testcase") if c.get("name") == "fresh[0009]"]
    assert case.find("failure").get("type") == "deploy-scan"


def test_create_index_concurrently_runs_outside_the_transaction(measured):
    result, junit = measured
    risk = _risk(result, "0010")
    [statement] = [s for s in risk["statements"] if "CONCURRENTLY" in s["text"]]
    assert statement["outside_transaction"] is True and "locks" not in statement
    index = {"relation": "public.ix_items_qty", "kind": "index", "table": "public.items"}
    assert statement["created"] == [index]
    items = _table(result, "0010")
    assert (items["lock"], items["outside_transaction"]) == (None, True)
    assert _codes(result, "0010") == {}
    [case] = [c for c in junit.iter("testcase") if c.get("name") == "fresh[0010]"]
    assert case.find("failure") is None


def test_a_table_made_in_the_same_revision_is_exempt(measured):
    result, _ = measured
    risk = _risk(result, "0011")
    assert risk["tables"] == []
    assert {"public.orders", "public.ix_orders_item"} <= set(risk["created"])
    assert _codes(result, "0011") == {}


def test_a_foreign_key_locks_both_tables_and_scans_the_referencing_one(measured):
    result, _ = measured
    items, orders = _table(result, "0012"), _table(result, "0012", "public.orders")
    assert (items["lock"], orders["lock"]) == ("SHARE ROW EXCLUSIVE", "SHARE ROW EXCLUSIVE")
    assert orders["full_scans"] >= 1
    assert _codes(result, "0012") == {"public.items": "deploy-lock", "public.orders": "deploy-scan"}


def test_statements_no_event_sees_still_count_in_the_revisions_totals(measured):
    result, _ = measured
    risk = _risk(result, "0013")
    assert risk["statements_attributed"] is False
    items = _table(result, "0013")
    assert (items["lock"], items["statements"]) == ("ACCESS EXCLUSIVE", [])
    assert _codes(result, "0013") == {"public.items": "deploy-lock"}


def test_the_console_gives_one_line_and_the_table_with_v(measured):
    result, _ = measured
    assert "deploy risk: 9 of 13 revision(s) block writes or reads on tables that existed before them, " \
           "5 of them while rewriting or scanning the table" in result.stdout
    rows = [cells for cells in map(str.split, result.stdout.splitlines()) if cells[:1] == ["0002"]]
    [row] = [cells for cells in rows if cells[1] == "public.items"]
    assert row[2:6] == ["ACCESS", "EXCLUSIVE", "reads", "and"]


def test_one_transaction_for_the_whole_walk_says_which_locks_it_could_not_see(verify, tmp_path):
    # Alembic's template: every revision in one transaction, so the lock 0001 took creating
    # items is still held when 0002 and 0003 need it again.
    facts = {revision: FACTS[revision] for revision in ("0002", "0003", "0006")}
    # A column and a foreign key over it (ckan's shape): the ADD COLUMN's ACCESS EXCLUSIVE is
    # held since 0001, so only the SHARE ROW EXCLUSIVE the foreign key adds is seen.
    facts["0014"] = ('op.add_column("items", sa.Column("parent_id", sa.Integer))\n'
                     'op.create_foreign_key("fk_items_parent", "items", "items", ["parent_id"], ["id"])')
    project = build_project(tmp_path / "project", _history(facts), models=MODELS)
    result = verify(project, "--stage", "fresh")

    assert result.code == 0, result.stdout + result.stderr
    rewritten = _table(result, "0002")
    assert (rewritten["lock"], rewritten["lock_implied_by_rewrite"]) == ("ACCESS EXCLUSIVE", True)
    assert _codes(result, "0002") == {"public.items": "deploy-rewrite"}
    widened = _table(result, "0003")
    assert (widened["lock"], widened["lock_held_from_earlier"]) == (None, True)
    # SET NOT NULL reads every row under the ACCESS EXCLUSIVE the transaction holds since 0001.
    scanned = _table(result, "0006")
    assert scanned["full_scans"] >= 1 and scanned["lock_held_from_earlier"] is True
    assert scanned["lock"] == "ACCESS EXCLUSIVE"
    [validated] = [f for f in result.findings("fresh") if f["revision"] == "0006"]
    assert (validated["code"], validated["object"]) == ("deploy-scan", "public.items")
    held = "while its transaction holds ACCESS EXCLUSIVE on it from an earlier revision"
    assert held in validated["message"], validated["message"]
    assert "SET NOT NULL" in validated["hint"] or "NOT VALID" in validated["hint"], validated["hint"]
    [referenced] = [f for f in result.findings("fresh") if f["revision"] == "0014"]
    assert referenced["code"] == "deploy-scan"
    assert "takes at least SHARE ROW EXCLUSIVE (the ACCESS EXCLUSIVE an earlier" in referenced["message"]
    assert "reads go on" not in referenced["message"]
    [note] = result.findings("fresh", "locks-not-measured")
    assert "0003, 0006, 0014" in note["message"] and "transaction_per_migration=True" in note["hint"]



def test_one_transaction_a_second_foreign_key_to_a_table_says_its_lock_was_held(verify, tmp_path):
    # ckan's shape: a second foreign key to items changes only pg_trigger rows of it, under
    # the SHARE ROW EXCLUSIVE the first one took in the same transaction: what is seen (the
    # validating query's ROW SHARE) is not the lock it needs.
    facts = {revision: FACTS[revision] for revision in ("0011", "0012")}
    facts["0015"] = ('op.create_table("refs", sa.Column("id", sa.Integer, primary_key=True),\n'
                     '                sa.Column("item_id", sa.Integer))\n'
                     'op.create_foreign_key("fk_refs_item", "refs", "items", ["item_id"], ["id"])')
    project = build_project(tmp_path / "project", _history(facts), models=MODELS)
    result = verify(project, "--stage", "fresh")

    assert result.code == 0, result.stdout + result.stderr
    items = _table(result, "0015")
    assert items["lock_held_from_earlier"] is True, items
    [note] = result.findings("fresh", "locks-not-measured")
    assert "0015" in note["message"]

# SQLAlchemy 1.4 has no psycopg 3 dialect.
DRIVERS = [("sync_template", "psycopg2"), ("async_template", "asyncpg"),
           *([("async_template", "psycopg")] if SA2 else [])]


@pytest.mark.parametrize("env,driver", DRIVERS)
def test_every_driver_measures_the_same(verify, tmp_path, env, driver):
    facts = {revision: FACTS[revision] for revision in ("0002", "0003", "0004", "0010")}
    project = build_project(tmp_path / "project", _history(facts), models=MODELS,
                            files={"migrations/env.py": per_migration_env(env)})
    result = verify(project, "--stage", "fresh", "--driver", driver)

    assert result.code == 0, result.stdout + result.stderr
    assert _table(result, "0002")["lock"] == "ACCESS EXCLUSIVE"
    assert "public.items" in _table(result, "0002")["rewritten"]
    assert (_table(result, "0003")["lock"], _table(result, "0003")["rewritten"]) == ("ACCESS EXCLUSIVE", [])
    assert _table(result, "0010")["outside_transaction"] is True


def test_measure_false_leaves_it_out(verify, tmp_path):
    project = build_project(tmp_path / "project", _history({"0002": FACTS["0002"]}), models=MODELS,
                            settings="measure = false\n")
    result = verify(project, "--stage", "fresh")

    assert result.code == 0, result.stdout + result.stderr
    assert "deploy_risk" not in result.stage("fresh") and result.findings("fresh") == []


# Shapes from real histories: a CHECK added beside a type change that rewrites (mlflow), a
# column added with a constant default beside a primary key built over it (mlflow), a column
# whose name holds a keyword (prefect's checksum), a data migration reading a table its
# revision holds a lock on already, before a DROP COLUMN (prefect). Each rewrite and scan is
# told from the statement behind it, and its fix from that statement alone.
SOURCES = {
    # The CHECK is NOT VALID (no scan); the type change rewrites.
    "0002": 'op.execute("ALTER TABLE items ADD CONSTRAINT n_positive CHECK (n > 0) NOT VALID")\n'
            'op.alter_column("items", "n", type_=sa.BigInteger)',
    # The constant default rewrites nothing; the primary key's index reads every row.
    "0003": 'op.add_column("items", sa.Column("step", sa.Integer, nullable=False, server_default="0"))\n'
            'op.drop_constraint("items_pkey", "items", type_="primary")\n'
            'op.create_primary_key("items_pkey", "items", ["id", "step"])',
    # CHECKSUM is no CHECK constraint: the index build is the scan.
    "0004": 'op.add_column("items", sa.Column("checksum", sa.String(64)))\n'
            'op.create_index("ix_items_checksum", "items", ["checksum"])',
    # The first read takes ACCESS SHARE, the second no lock it did not hold: both scan.
    "0005": 'op.add_column("items", sa.Column("note", sa.Text))\n'
            'op.execute("SELECT count(*) FROM items")\n'
            'op.execute("SELECT max(n) FROM items")\n'
            'op.drop_column("items", "note")',
}


def _fix(keyword: str) -> str:
    return {name: hint for name, _, hint in _HINTS}[keyword]


@pytest.fixture(scope="module")
def sourced(pg_server, tmp_path_factory):
    """A history whose revisions each run one statement that rewrites or scans beside others
    that do not, verified once (fresh stage)."""
    root = tmp_path_factory.mktemp("deploy-sources")
    project = build_project(root / "project", _history(SOURCES), models=MODELS,
                            files={"migrations/env.py": per_migration_env("sync_template")})
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    result = run_cli("verify", "--project", str(project), "--stage", "fresh", url=url,
                     report=root / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    return result


def _finding(result, revision: str) -> dict:
    [found] = [f for f in result.findings("fresh") if f["revision"] == revision]
    return found


def test_a_rewrite_is_fixed_as_the_type_change_it_comes_from(sourced):
    finding = _finding(sourced, "0002")
    assert finding["code"] == "deploy-rewrite"
    assert finding["hint"] == _fix("TYPE")


def test_a_primary_key_build_is_fixed_as_an_index_not_as_the_default_beside_it(sourced):
    finding = _finding(sourced, "0003")
    assert finding["code"] == "deploy-scan"
    assert finding["hint"] == _fix("PRIMARY KEY")
    assert "USING INDEX" in finding["hint"]


def test_a_keyword_inside_a_name_is_not_the_statement(sourced):
    finding = _finding(sourced, "0004")
    assert finding["code"] == "deploy-scan"
    assert finding["hint"] == _fix("INDEX")


def test_a_read_under_a_lock_held_already_is_its_own_scan(sourced):
    statements = {s["text"]: s for s in _risk(sourced, "0005")["statements"]}
    scanned = {text for text, s in statements.items() if s.get("scans")}
    assert scanned == {"SELECT count(*) FROM items", "SELECT max(n) FROM items"}
    finding = _finding(sourced, "0005")
    assert finding["code"] == "deploy-scan"
    assert finding["hint"] == _fix("SELECT")
