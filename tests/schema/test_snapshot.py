"""take_snapshot reads every kind of object from a real database, and only the project's."""

import asyncio
import pickle

import pytest
import sqlalchemy
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from checks.project.driver import usable
from checks.schema import Snapshot, take_snapshot
from checks.schema.snapshot import Domain, Sequence, View
from checks.schema_access import snapshot_of

# One of every kind the snapshot knows, plus things it must leave out: an extension's
# objects and Alembic's version table.
EVERY_KIND = """
CREATE EXTENSION citext;
CREATE SCHEMA app;
CREATE TYPE status AS ENUM ('new', 'paid', 'shipped');
CREATE DOMAIN positive_int AS integer NOT NULL DEFAULT 1 CHECK (VALUE > 0);
CREATE TABLE users (
    id serial PRIMARY KEY,
    email citext NOT NULL UNIQUE,
    name text COLLATE "C",
    created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE users IS 'people who buy';
COMMENT ON COLUMN users.email IS 'login';
CREATE TABLE app.orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    status status NOT NULL DEFAULT 'new',
    quantity positive_int,
    price numeric(10, 2) CHECK (price >= 0),
    total numeric GENERATED ALWAYS AS (price * quantity) STORED,
    slot circle,
    EXCLUDE USING gist (slot WITH &&)
);
CREATE INDEX ix_orders_open ON app.orders (user_id) WHERE status <> 'shipped';
CREATE INDEX ix_users_lower_name ON users (lower(name));
CREATE SEQUENCE invoice_numbers INCREMENT BY 10 START WITH 1000;
CREATE VIEW paid_orders AS SELECT id, user_id FROM app.orders WHERE status = 'paid';
CREATE MATERIALIZED VIEW order_counts AS SELECT user_id, count(*) AS n FROM app.orders GROUP BY user_id;
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.created_at := now();
    RETURN NEW;
END
$$;
CREATE TRIGGER users_touch BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE events (id integer, at date) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL CONSTRAINT alembic_version_pkc PRIMARY KEY
);
GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;
GRANT UPDATE (name) ON users TO PUBLIC;
REVOKE EXECUTE ON FUNCTION touch() FROM PUBLIC;
GRANT USAGE ON SCHEMA app TO PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO PUBLIC;
"""


@pytest.fixture(scope="module")
def snap(pg_server) -> Snapshot:
    database = pg_server.create_database("snapshot")
    with pg_server.connect(database) as conn:
        conn.execute(EVERY_KIND)
        return take_snapshot(conn)


def test_schemas_and_extensions(snap):
    assert snap.schemas == ("app", "public")
    assert "citext" in snap.extensions


def test_extension_objects_and_version_table_are_left_out(snap):
    assert list(snap.functions) == ["touch()"]  # none of citext's functions
    assert "citext" not in snap.domains
    assert "alembic_version" not in snap.tables
    assert all(obj.table != "alembic_version" for obj in snap.constraints + snap.indexes)


def test_tables_and_partitions(snap):
    assert set(snap.tables) == {"users", "app.orders", "events", "events_2024"}
    assert snap.tables["users"].comment == "people who buy"
    events, partition = snap.tables["events"], snap.tables["events_2024"]
    assert (events.kind, events.partition_key) == ("partitioned table", "RANGE (at)")
    assert partition.partition_of == "events"
    assert partition.partition_bound == "FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')"


def test_columns(snap):
    users = snap.tables["users"].columns
    assert list(users) == ["created_at", "email", "id", "name"]
    assert users["id"].default == "nextval('users_id_seq'::regclass)"
    assert users["id"].nullable is False
    assert users["email"].type == "citext"
    assert users["email"].comment == "login"
    assert users["name"].collation == "C"
    assert users["created_at"].collation is None
    assert users["created_at"].default == "now()"
    orders = snap.tables["app.orders"].columns
    assert orders["id"].identity == "always"
    assert orders["id"].default is None
    assert orders["price"].type == "numeric(10,2)"
    assert orders["status"].default == "'new'::status"
    assert orders["total"].generated == "(price * (quantity)::numeric)"
    assert orders["total"].default is None


def test_constraints_of_every_kind(snap):
    by_kind = {con.kind: con for con in snap.constraints if con.table == "app.orders"}
    assert set(by_kind) == {"p", "f", "c", "x"}
    assert by_kind["f"].definition == (
        "FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED"
    )
    assert by_kind["f"].columns == ("user_id",)
    assert by_kind["c"].definition == "CHECK ((price >= (0)::numeric))"
    assert by_kind["x"].definition == "EXCLUDE USING gist (slot WITH &&)"
    assert {(con.name, con.kind) for con in snap.constraints if con.table == "users"} == {
        ("users_pkey", "p"), ("users_email_key", "u"),
    }


def test_indexes_without_names_and_without_constraint_indexes(snap):
    indexes = {index.name: index for index in snap.indexes}
    # Primary key, unique and exclusion indexes are compared as their constraints.
    assert set(indexes) == {"ix_orders_open", "ix_users_lower_name"}
    assert indexes["ix_orders_open"].definition == (
        "CREATE INDEX ON app.orders USING btree (user_id) WHERE (status <> 'shipped'::status)"
    )
    assert indexes["ix_orders_open"].columns == ("user_id",)
    assert indexes["ix_users_lower_name"].definition == (
        "CREATE INDEX ON public.users USING btree (lower(name))"
    )


def test_types(snap):
    assert snap.enums == {"status": ("new", "paid", "shipped")}
    assert snap.domains == {"positive_int": Domain("integer", False, "1", ("CHECK ((VALUE > 0))",))}


def test_sequences_with_owners(snap):
    assert snap.sequences == {
        "invoice_numbers": Sequence("bigint", 1000, 10, 1, 2**63 - 1, 1, False, None),
        "users_id_seq": Sequence("integer", 1, 1, 1, 2**31 - 1, 1, False, "users.id"),
        "app.orders_id_seq": Sequence("bigint", 1, 1, 1, 2**63 - 1, 1, False, "app.orders.id"),
    }


def test_views(snap):
    assert snap.views["paid_orders"] == View(
        materialized=False,
        definition=" SELECT orders.id,\n    orders.user_id\n   FROM app.orders\n"
        "  WHERE orders.status = 'paid'::status;",
    )
    assert snap.views["order_counts"].materialized is True


def test_functions_and_triggers(snap):
    assert "NEW.created_at := now();" in snap.functions["touch()"]
    [trigger] = snap.triggers
    assert (trigger.table, trigger.name) == ("users", "users_touch")
    assert trigger.definition == (
        "CREATE TRIGGER users_touch BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION touch()"
    )


def test_grants(snap):
    # Every one but the version table's; read the same by every driver (below).
    assert {grant.describe() for grant in snap.privileges} == {
        "grant SELECT on table users to PUBLIC",
        "grant UPDATE on column users.name to PUBLIC",
        "grant SELECT on table events to PUBLIC",
        "grant SELECT on table events_2024 to PUBLIC",
        "grant SELECT on view paid_orders to PUBLIC",
        "grant SELECT on materialized view order_counts to PUBLIC",
        "revoke EXECUTE on function touch() from PUBLIC",
        "grant USAGE on schema app to PUBLIC",
    }
    [default] = snap.default_privileges
    assert (default.schema, default.objects, default.grantee, default.privilege) == \
        ("app", "tables", "PUBLIC", "SELECT")


def test_snapshot_is_plain_data_and_repeatable(pg_server, snap):
    assert pickle.loads(pickle.dumps(snap)) == snap
    database = pg_server.create_database("snapshot_again")
    with pg_server.connect(database) as conn:
        conn.execute(EVERY_KIND)
        assert take_snapshot(conn) == take_snapshot(conn) == snap


@pytest.mark.parametrize("autocommit", [True, False], ids=["autocommit", "in_transaction"])
def test_connection_is_left_as_found(pg_server, autocommit):
    database = pg_server.create_database("snapshot_session")
    with pg_server.connect(database, autocommit=autocommit) as conn:
        conn.execute("CREATE SCHEMA app; CREATE TABLE app.t (id integer); SET search_path = app")
        snap = take_snapshot(conn)
        assert conn.execute("SHOW search_path").fetchone() == ("app",)
        # The caller's open transaction survives: the table it created is still there.
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
    assert list(snap.tables) == ["app.t"]


def _through_asyncpg(url) -> Snapshot:
    from sqlalchemy.ext.asyncio import create_async_engine

    async def read():
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                return await conn.run_sync(snapshot_of)
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.mark.parametrize("dbapi", ["psycopg", "psycopg2", "asyncpg"])
def test_snapshot_through_a_sqlalchemy_connection_of_any_driver(pg_server, snap, dbapi):
    # Between migration steps the only view of the schema is the migration's own connection.
    if not usable(dbapi):
        pytest.skip(f"SQLAlchemy {sqlalchemy.__version__} cannot load {dbapi} here")
    database = pg_server.create_database("snapshot_driver")
    with pg_server.connect(database) as conn:
        conn.execute(EVERY_KIND)
    url = pg_server.url(database, dbapi)
    if dbapi == "asyncpg":
        assert _through_asyncpg(url) == snap
        return
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            assert snapshot_of(conn) == snap
            assert conn.in_transaction()
    finally:
        engine.dispose()
