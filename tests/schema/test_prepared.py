"""Snapshot queries are prepared once per connection and run on one generic plan.

Without it every step's snapshot re-plans a dozen catalog queries, which costs more than
running them: on a 200-revision project most of the server's time went to planning.
"""

from __future__ import annotations

import pytest

from checks.schema import incremental, prepared, queries, take_snapshot, tracking
from checks.schema.incremental import IncrementalSnapshots
from checks.schema.prepared import name_of


def _statement(conn, query: str) -> tuple | None:
    return conn.execute("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                        "WHERE name = %s", [name_of(query)]).fetchone()


@pytest.fixture
def migrating(pg_server, make_database):
    """A connection inside one open transaction, as a migration's is between its steps."""
    name = make_database("prepared")
    with pg_server.connect(name) as admin:
        assert incremental.install(admin)
    with pg_server.connect(name, autocommit=False) as conn:
        yield conn
        conn.rollback()


def test_one_statement_serves_every_set_of_oids(migrating):
    taker = IncrementalSnapshots("alembic_version", check=False)
    taker.take(migrating)
    for table in ("a", "b", "c"):
        migrating.execute(f"CREATE TABLE {table} (id int PRIMARY KEY)")
        assert table in taker.take(migrating).tables
    assert taker.partial_reads == 3
    statement, generic, custom = _statement(migrating, queries.COLUMNS)
    # The oids are a parameter, not part of the text: three reads of three different
    # tables ran the one statement, on the plan made for the first of them.
    assert "$1" in statement
    assert (generic, custom) == (3, 0)


def test_statements_deallocated_behind_its_back_are_prepared_again(migrating):
    taker = IncrementalSnapshots("alembic_version", check=True)
    taker.take(migrating)
    migrating.execute("CREATE TABLE a (id int)")
    taker.take(migrating)
    migrating.execute("DEALLOCATE ALL")  # what psycopg sends on a DROP, ALTER or ROLLBACK new to it
    migrating.execute("ALTER TABLE a ADD COLUMN name text")
    assert "name" in taker.take(migrating).tables["a"].columns
    assert _statement(migrating, queries.COLUMNS) is not None


def test_the_callers_prepared_statements_survive_a_snapshot(migrating):
    # A snapshot that ended in ROLLBACK made psycopg deallocate everything it had prepared.
    migrating.execute("SELECT 1 WHERE %s", [True], prepare=True)
    kept = migrating.execute("SELECT name FROM pg_prepared_statements WHERE NOT from_sql").fetchall()
    assert kept
    taker = IncrementalSnapshots("alembic_version", check=False)
    taker.take(migrating)
    migrating.execute("CREATE TABLE a (id int)")
    taker.take(migrating)
    take_snapshot(migrating)
    assert migrating.execute("SELECT name FROM pg_prepared_statements WHERE NOT from_sql").fetchall() == kept


@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "in_transaction"])
def test_settings_are_put_back(pg_server, make_database, autocommit):
    settings = ("search_path", "join_collapse_limit", "from_collapse_limit", "plan_cache_mode",
                "random_page_cost")
    with pg_server.connect(make_database("prepared"), autocommit=autocommit) as conn:
        conn.execute("SET join_collapse_limit = 3")
        conn.execute("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")  # a local one too
        before = [conn.execute(f"SHOW {name}").fetchone()[0] for name in settings]
        take_snapshot(conn)
        assert [conn.execute(f"SHOW {name}").fetchone()[0] for name in settings] == before


def test_a_one_off_snapshot_leaves_the_session_without_statements(pg_server, make_database):
    # take_snapshot reads someone's database (doctor, drills): nothing of ours stays behind.
    with pg_server.connect(make_database("prepared")) as conn:
        conn.execute("CREATE TABLE t (id int)")
        with conn.transaction():
            assert "t" in take_snapshot(conn).tables
        assert "t" in take_snapshot(conn).tables
        assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)


def test_a_snapshot_prepares_by_calling_the_logs_function_not_by_sending_the_queries():
    wanted = list(incremental.PREPARED[:3])
    call = prepared.ensure(wanted, tracking.PREPARE_FUNCTION, incremental.PREPARED)
    assert call == f"SELECT {tracking.PREPARE_FUNCTION}()"
    # A query the function was not made with: the loop goes with the queries, as a DO block.
    block = prepared.ensure([*wanted, "SELECT %(x)s"], tracking.PREPARE_FUNCTION, incremental.PREPARED)
    assert block.startswith("DO ") and name_of("SELECT %(x)s") in block


@pytest.mark.parametrize("value", ["plain", "it's", "back\\slash", "{1,2}", "", "é ü"])
def test_values_are_written_into_an_execute_as_postgresql_reads_them(migrating, value):
    query = "SELECT %(value)s::text, %(number)s::int"
    migrating.execute(prepared.ensure([query]))
    statement = prepared.execute(query, {"value": value, "number": 42})
    assert migrating.execute(statement).fetchone() == (value, 42)
