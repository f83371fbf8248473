"""What the rows add up to is the same however the server runs the query that reads them."""

from __future__ import annotations

from checks.parallel import rows

# Costs that make the planner run the union of every table's digest as a parallel append,
# whose rows come in the order its workers finish.
PARALLEL = ("SET parallel_setup_cost = 0", "SET parallel_tuple_cost = 0",
            "SET min_parallel_table_scan_size = 0", "SET max_parallel_workers_per_gather = 4",
            "SET enable_parallel_append = on")


def test_the_fingerprint_lists_the_tables_by_name_even_from_a_parallel_plan(pg_server, make_database):
    database = make_database("rows")
    with pg_server.connect(database) as conn:
        for number in range(40):
            conn.execute(f"CREATE TABLE t{number:02d} (id integer PRIMARY KEY, note text)")
            conn.execute(f"INSERT INTO t{number:02d} SELECT g, md5(g::text) FROM generate_series(1, 3) g")
        conn.execute("ANALYZE")
        serial = rows.fingerprint(conn, "alembic_version")
        for statement in PARALLEL:
            conn.execute(statement)
        found = [rows.fingerprint(conn, "alembic_version") for _ in range(5)]
    assert [name for name, _, _ in serial] == [f"public.t{number:02d}" for number in range(40)]
    assert all(fingerprint == serial for fingerprint in found)
