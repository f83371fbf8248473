"""Cloning, renaming and dropping as an ordinary role (CREATEDB only), as on a CI service database.

The harness terminates only sessions of its own role in databases it created; everyone
else is waited for, then named. Autovacuum is left to PostgreSQL: no ordinary role may
signal it ("must be a superuser to terminate superuser process"), and CREATE DATABASE
and DROP DATABASE stop it themselves.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg import sql
from roles import ordinary_role

from checks.recovery.database import recreate
from checks.recovery.safety import other_sessions
from checks.recovery.target import Target
from harness.errors import ServerError
from harness.select import open_server
from harness.url import UrlServer


@pytest.fixture
def role_server(role):
    """The harness as the role: a --url server, the way a CI job points the suite at its database."""
    with UrlServer(role.url()) as server:
        server.session_wait_s = 0.5  # the foreign session below never leaves; no need to wait long
        yield server


def test_a_session_of_another_role_is_named_and_never_terminated(pg_server, role_server):
    name = role_server.create_database("held")
    other = pg_server.connect(name)  # the test server's superuser: not ours to cut off
    pid = other.info.backend_pid
    try:
        for attempt in (lambda: role_server.create_database("clone", template=name),
                        lambda: role_server.rename_database(name, "renamed"),
                        lambda: role_server.drop_database(name)):
            with pytest.raises(ServerError) as raised:
                attempt()
            message = str(raised.value)
            assert f"database {name} is still in use by pid {pid} (user {pg_server.endpoint.user}" in message
            assert "disconnects only sessions of its own role" in message and "\n" not in message
            assert other.execute("SELECT 1").fetchone() == (1,), "the other role's session was cut off"
    finally:
        other.close()
    role_server.drop_database(name)  # once it has gone, the drop goes ahead
    assert name not in _databases(pg_server)


def test_our_own_session_left_open_in_our_database_is_disconnected(pg_server, role, role_server):
    name = role_server.create_database("leaky")
    leaked = role.connect(name)  # an env.py engine the project never disposed of: our role, our database
    clone = role_server.create_database("clone", template=name)
    assert leaked.closed or _is_dead(leaked)
    renamed = role_server.rename_database(clone, "renamed")
    role_server.drop_database(renamed)
    assert {clone, renamed} & set(_databases(pg_server)) == set()


def test_harness_sessions_carry_the_run_in_application_name(pg_server, role_server):
    with role_server.connect() as conn:
        shown = conn.execute("SHOW application_name").fetchone()[0]
        assert shown == f"alembic-preflight {role_server.run_id}"


def test_a_database_still_being_created_when_dropped_is_dropped_once_created(pg_server, role, role_server):
    # A worker killed while its CREATE DATABASE ran leaves a server process that finishes it;
    # the DROP sent meanwhile finds nothing, and the database would outlive the run. Here the
    # CREATE waits for a session on its template, so it is still running when the drop comes.
    name = role_server.new_database_name("late")
    template = pg_server.connect("template1")
    creator = role.connect()
    creator.autocommit = True
    done: list[object] = []
    thread = threading.Thread(target=lambda: done.append(
        creator.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))))
    thread.start()
    try:
        with pg_server.connect() as conn:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not conn.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE state = 'active' "
                    "AND query LIKE 'CREATE DATABASE%%' AND strpos(query, %s) > 0", (name,)).fetchone():
                time.sleep(0.02)
        threading.Timer(0.5, template.close).start()  # the CREATE goes ahead half a second later
        role_server.drop_database(name)
        thread.join(10)
        assert done, "the CREATE DATABASE never finished"
        assert name not in _databases(pg_server)
    finally:
        thread.join(10)
        template.close()
        creator.close()
        pg_server.drop_database(name)


# --- autovacuum, the process an ordinary role may never signal ------------------------------

@pytest.fixture(scope="module")
def busy_server():
    """A server of its own whose autovacuum wakes every second (a setting the shared one must keep)."""
    with open_server("local") as server:
        with server.connect() as conn:
            conn.execute("ALTER SYSTEM SET autovacuum_naptime = 1")
            conn.execute("SELECT pg_reload_conf()")
        yield server


def _slow_vacuum_table(role, database: str) -> None:
    # Dead rows and a vacuum that sleeps after every page: a worker arrives within a
    # naptime and stays until someone stops it.
    with role.connect(database) as conn:
        conn.execute("CREATE TABLE churn (id int) WITH (autovacuum_vacuum_threshold = 0, "
                     "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_cost_delay = 100, "
                     "autovacuum_vacuum_cost_limit = 1)")
        conn.execute("INSERT INTO churn SELECT generate_series(1, 200000)")
        conn.execute("DELETE FROM churn")


def _wait_for_autovacuum(server, database: str, within: float = 60.0) -> None:
    # A precondition, not a timed assertion: the test means nothing until the worker is there.
    deadline = time.monotonic() + within
    with server.connect() as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                            "AND backend_type = 'autovacuum worker'", (database,)).fetchone()[0]:
                return
            time.sleep(0.05)
    raise AssertionError(f"no autovacuum worker came to {database} within {within:.0f}s")


def test_an_autovacuum_worker_stops_no_clone_drop_or_restore(busy_server):
    with ordinary_role(busy_server, "CREATEDB") as role, UrlServer(role.url()) as server:
        template, dropped, restored = (server.create_database(p) for p in ("template", "dropped", "restored"))
        for name in (template, dropped, restored):
            _slow_vacuum_table(role, name)

        _wait_for_autovacuum(busy_server, template)
        clone = server.create_database("clone", template=template)  # was: must be a superuser to terminate...
        with server.connect(clone) as conn:
            assert conn.execute("SELECT count(*) FROM churn").fetchone() == (0,)

        _wait_for_autovacuum(busy_server, dropped)
        server.drop_database(dropped)  # was: DROP ... WITH (FORCE), refused the same way

        _wait_for_autovacuum(busy_server, restored)
        target = Target(UrlServer(role.url(restored)))
        assert other_sessions(target) == [], "autovacuum is nobody a restore must ask about"
        recreate(target)  # what restore and reset-db run
        assert restored in _databases(busy_server) and dropped not in _databases(busy_server)


def _databases(server) -> list[str]:
    with server.connect() as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database")]


def _is_dead(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except psycopg.OperationalError:
        return True
    return False


def test_every_database_a_url_server_made_is_dropped_on_exit_even_one_left_in_use(pg_server, role):
    """Dropped side by side at exit; one our own leaked session holds is still cleared."""
    with UrlServer(role.url()) as server:
        made = [server.create_database(f"many{n}") for n in range(6)]
        leaked = role.connect(made[3])
    assert set(made) & set(_databases(pg_server)) == set()
    assert leaked.closed or _is_dead(leaked)


def test_a_local_server_goes_with_its_databases_without_dropping_each():
    dropped = []
    with open_server("local") as server:
        assert server.disposable
        made = server.create_database("gone")
        real = server.drop_database
        server.drop_database = lambda name, *rest, **named: dropped.append(name) or real(name, *rest, **named)
        folder = server._workdir
    assert made and dropped == []  # no DROP DATABASE on the way out: the cluster's folder takes them all
    assert not folder.exists()
