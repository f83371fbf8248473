"""Grants are part of the snapshot: read as (grantee, privilege, grant option) beyond what an
object has without any GRANT, and compared in the words of the statement that makes them."""

from __future__ import annotations

import uuid

import pytest

from checks.schema import diff_snapshots, take_snapshot
from checks.schema.scope import Scope, narrow
from checks.schema.snapshot import DefaultPrivilege, Privilege

SCHEMA = """
CREATE SCHEMA app;
CREATE TABLE orders (id serial PRIMARY KEY, total numeric, note text);
CREATE VIEW big_orders AS SELECT id FROM orders WHERE total > 100;
CREATE FUNCTION app.refund(order_id integer) RETURNS void LANGUAGE sql AS 'SELECT';
CREATE PROCEDURE app.archive() LANGUAGE sql AS 'SELECT';
"""


@pytest.fixture(scope="module")
def reporting(pg_server):
    name = f"reporting_{uuid.uuid4().hex[:8]}"
    with pg_server.connect() as conn:
        conn.execute(f"CREATE ROLE {name} NOLOGIN")
    made: list[str] = []
    yield name, made
    for database in made:
        pg_server.drop_database(database)
    with pg_server.connect() as conn:
        conn.execute(f"DROP ROLE {name}")


@pytest.fixture(scope="module")
def snapshot_of(pg_server, reporting):
    _, made = reporting

    def build(ddl: str = ""):
        database = pg_server.create_database("privileges")
        made.append(database)
        with pg_server.connect(database) as conn:
            conn.execute(SCHEMA + ddl)
            return take_snapshot(conn)

    return build


@pytest.fixture(scope="module")
def owner(pg_server):
    with pg_server.connect() as conn:
        return conn.execute("SELECT current_user").fetchone()[0]


def test_a_fresh_database_has_no_grants(snapshot_of):
    # The owner's own privileges, PUBLIC's EXECUTE on functions and USAGE on the public
    # schema are what every object or database has without a GRANT.
    snap = snapshot_of()
    assert (snap.privileges, snap.default_privileges) == ((), ())
    assert snapshot_of() == snap


def test_every_kind_of_grant_is_read(snapshot_of, reporting, owner):
    role, _ = reporting
    snap = snapshot_of(f"""
        GRANT SELECT, INSERT ON orders TO {role};
        GRANT UPDATE (note) ON orders TO PUBLIC;
        GRANT USAGE ON SEQUENCE orders_id_seq TO {role} WITH GRANT OPTION;
        GRANT SELECT ON big_orders TO PUBLIC;
        REVOKE EXECUTE ON FUNCTION app.refund(integer) FROM PUBLIC;
        GRANT EXECUTE ON FUNCTION app.refund(integer) TO {role};
        GRANT EXECUTE ON PROCEDURE app.archive() TO {role};
        GRANT USAGE ON SCHEMA app TO {role};
        ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {role};
        ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT USAGE ON SEQUENCES TO PUBLIC;
        ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
    """)
    assert set(snap.privileges) == {
        Privilege("table", "orders", role, "INSERT", False),
        Privilege("table", "orders", role, "SELECT", False),
        Privilege("column", "orders.note", "PUBLIC", "UPDATE", False),
        Privilege("sequence", "orders_id_seq", role, "USAGE", True),
        Privilege("view", "big_orders", "PUBLIC", "SELECT", False),
        Privilege("function", "app.refund(order_id integer)", "PUBLIC", "EXECUTE", False, revoked=True),
        Privilege("function", "app.refund(order_id integer)", role, "EXECUTE", False),
        Privilege("procedure", "app.archive()", role, "EXECUTE", False),
        Privilege("schema", "app", role, "USAGE", False),
    }
    assert set(snap.default_privileges) == {
        DefaultPrivilege(owner, None, "tables", role, "SELECT", False),
        DefaultPrivilege(owner, "app", "sequences", "PUBLIC", "USAGE", False),
        DefaultPrivilege(owner, None, "functions", "PUBLIC", "EXECUTE", False, revoked=True),
    }


def test_a_revoked_grant_leaves_nothing_behind(snapshot_of, reporting):
    # After the GRANT the ACL lists the owner's own privileges too; the REVOKE leaves them.
    role, _ = reporting
    revoked = snapshot_of(f"GRANT SELECT ON orders TO {role}; REVOKE SELECT ON orders FROM {role}; "
                          f"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {role}; "
                          f"ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM {role}")
    assert diff_snapshots(snapshot_of(), revoked) == []
    assert revoked == snapshot_of()


def test_a_table_made_under_default_privileges_has_their_grants(snapshot_of, reporting):
    role, _ = reporting
    snap = snapshot_of(f"ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO {role}; "
                       "CREATE TABLE later (id int)")
    assert Privilege("table", "later", role, "SELECT", False) in snap.privileges
    assert not any(grant.name == "orders" for grant in snap.privileges)


def test_differences_name_the_object_and_the_privilege(snapshot_of, reporting, owner):
    role, _ = reporting
    before = snapshot_of(f"GRANT SELECT ON orders TO {role}")
    after = snapshot_of(f"""
        GRANT SELECT ON orders TO {role} WITH GRANT OPTION;
        GRANT UPDATE (total) ON orders TO {role};
        REVOKE EXECUTE ON FUNCTION app.refund(integer) FROM PUBLIC;
        ALTER DEFAULT PRIVILEGES IN SCHEMA app GRANT SELECT ON TABLES TO {role};
    """)
    found = {(d.object, d.property): d.message
             for d in diff_snapshots(before, after, expected_label="before", actual_label="after")}
    assert found == {
        (f"grant SELECT on table orders to {role}", "grant option"):
            f"grant SELECT on table orders to {role}: grant option false in before, true in after",
        (f"grant UPDATE on column orders.total to {role}", "exists"):
            f"grant UPDATE on column orders.total to {role}: exists in after, missing in before",
        ("revoke EXECUTE on function app.refund(order_id integer) from PUBLIC", "exists"):
            "revoke EXECUTE on function app.refund(order_id integer) from PUBLIC: exists in after, "
            "missing in before",
        (f"default privilege: grant SELECT on tables created by {owner} in schema app to {role}", "exists"):
            f"default privilege: grant SELECT on tables created by {owner} in schema app to {role}: "
            "exists in after, missing in before",
    }


def test_a_grant_on_a_missing_object_goes_with_the_object(snapshot_of):
    with_table = snapshot_of("CREATE TABLE audit (id int); GRANT SELECT ON audit TO PUBLIC")
    [difference] = diff_snapshots(with_table, snapshot_of())
    assert difference.object == "table audit"


def test_ignored_objects_take_their_grants_along(snapshot_of):
    granted = snapshot_of("GRANT SELECT ON orders TO PUBLIC; GRANT USAGE ON SCHEMA app TO PUBLIC")
    assert diff_snapshots(snapshot_of(), granted, ignore={"orders", "app"}) == []


def test_a_scope_keeps_the_grants_of_the_objects_it_keeps(snapshot_of):
    snap = snapshot_of("GRANT SELECT ON orders TO PUBLIC; GRANT UPDATE (note) ON orders TO PUBLIC; "
                       "GRANT SELECT ON big_orders TO PUBLIC")
    kept = narrow(snap, Scope(table=lambda name: name != "orders", left_out=frozenset({"views"})))
    assert kept.privileges == ()
    kept = narrow(snap, Scope(column=lambda table, column: column != "note"))
    assert {grant.name for grant in kept.privileges} == {"orders", "big_orders"}
    assert narrow(snap, Scope(left_out=frozenset({"privileges"}))).privileges == ()
