"""Autogenerate over two schemas finds the same differences when every schema is read in bulk."""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.pool import NullPool

from checks.project.driver import usable
from projectside.autogenerate import describe_autogenerate_diff
from projectside.reflection import every_schema_read_in_bulk

BUILT = """
CREATE SCHEMA reporting;
CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text);
CREATE INDEX ix_customers_email ON customers (email);
CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer REFERENCES customers (id), total numeric);
CREATE TABLE reporting.daily (day date PRIMARY KEY, orders integer NOT NULL, note varchar(20));
CREATE TABLE reporting.weekly (week date PRIMARY KEY, orders bigint);
CREATE UNIQUE INDEX uq_weekly_orders ON reporting.weekly (orders);
"""


def models() -> sa.MetaData:
    """The schema above with a difference of each kind in each schema."""
    metadata = sa.MetaData()
    sa.Table("customers", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("name", sa.Text, nullable=False), sa.Column("email", sa.Text),
             sa.Column("phone", sa.Text))  # missing from the database
    sa.Table("orders", metadata, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("customer_id", sa.Integer),  # its foreign key is not declared
             sa.Column("total", sa.Numeric))
    sa.Table("daily", metadata, sa.Column("day", sa.Date, primary_key=True),
             sa.Column("orders", sa.Integer, nullable=False),
             sa.Column("note", sa.String(40)),  # another length
             schema="reporting")
    sa.Table("weekly", metadata, sa.Column("week", sa.Date, primary_key=True),
             sa.Column("orders", sa.BigInteger), sa.Index("ix_weekly_orders", "orders"),  # not unique
             schema="reporting")
    return metadata


def differences(url, metadata: sa.MetaData, bulk: bool) -> tuple[list[str], int]:
    """Autogenerate's differences, as text, and how many queries it sent."""
    engine = sa.create_engine(url, poolclass=NullPool)
    queries = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: queries.append(args[2]))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={
                "target_metadata": metadata, "compare_type": True, "include_schemas": True,
                "include_name": lambda name, type_, _: type_ != "schema" or name in (None, "reporting")})
            started = len(queries)
            if bulk:
                with every_schema_read_in_bulk():
                    found = compare_metadata(context, metadata)
            else:
                found = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    said = sorted(message for diff in found for message, _, _ in describe_autogenerate_diff(diff))
    return said, len(queries) - started


def test_two_schemas_read_in_bulk_give_the_same_differences(pg_server, make_database):
    database = make_database("reflection")
    with pg_server.connect(database) as conn:
        conn.execute(BUILT)
    # SQLAlchemy 1.4 has no dialect for psycopg 3: the projects it runs use psycopg2.
    url = pg_server.url(database, next(dbapi for dbapi in ("psycopg", "psycopg2") if usable(dbapi)))

    bulk, bulk_queries = differences(url, models(), bulk=True)
    each, each_queries = differences(url, models(), bulk=False)

    assert bulk == each
    text = "\n".join(bulk)
    for expected in ("customers.phone", "orders_customer_id_fkey", "reporting.daily.note",
                     "ix_weekly_orders"):
        assert expected in text, (expected, text)
    try:
        importlib.import_module("alembic.autogenerate.compare.util")._InspectorConv  # noqa: B018
    except (ImportError, AttributeError):
        assert bulk_queries == each_queries  # an Alembic that reads table by table: left as it is
    else:
        assert bulk_queries < each_queries, (bulk_queries, each_queries)


def test_alembic_is_left_as_it_was():
    try:
        conv = importlib.import_module("alembic.autogenerate.compare.util")._InspectorConv
    except (ImportError, AttributeError):
        with every_schema_read_in_bulk():
            pass
        return
    before = conv._pre_cache
    with every_schema_read_in_bulk():
        assert conv._pre_cache is not before
    assert conv._pre_cache is before
