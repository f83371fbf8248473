"""The drills' row generator in bulk: N rows per table in one INSERT ... SELECT each, with the
values `seed` gives one row, parents before children."""

from __future__ import annotations

from checks import sample_rows as rows


def test_fill_inserts_the_rows_asked_for_parents_first(pg_server, make_database):
    name = make_database("bulk")
    with pg_server.connect(name) as conn:
        conn.execute("CREATE TYPE mood AS ENUM ('calm', 'busy')")
        conn.execute("CREATE TABLE parents (id int PRIMARY KEY, label varchar(20) NOT NULL UNIQUE, "
                     "small smallint NOT NULL, m mood NOT NULL, at timestamptz NOT NULL, doc jsonb)")
        conn.execute("CREATE TABLE children (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
                     "parent_id int NOT NULL REFERENCES parents, note text)")
        conn.execute("CREATE TABLE defaults_only (id serial PRIMARY KEY)")
        unfilled = rows.fill(conn, "alembic_version", {"public.children": 300, "public.parents": 40_000,
                                                       "public.defaults_only": 7})
        assert unfilled == []
        assert rows.counts(conn, "alembic_version") == {
            "public.children": 300, "public.defaults_only": 7, "public.parents": 40_000}
        assert conn.execute("SELECT count(DISTINCT parent_id) FROM children").fetchone()[0] == 1


def test_seed_still_gives_one_row(pg_server, make_database):
    name = make_database("seed")
    with pg_server.connect(name) as conn:
        conn.execute("CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL)")
        assert rows.seed(conn, "alembic_version") == []
        assert conn.execute("SELECT id, name FROM items").fetchall() == [(1, "seed 1")]
