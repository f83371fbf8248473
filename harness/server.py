"""The one interface every PostgreSQL backend implements.

A check never learns where its server came from: it asks a `Server` for throwaway
databases and gets URLs back. Backends only know how to start, describe and stop a
server; creating, cloning and dropping databases is shared here.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL

from harness import privileges, sessions
from harness.errors import ServerError

DRIVER = "psycopg"  # SQLAlchemy's name for the driver the harness itself uses


@dataclass(frozen=True)
class Endpoint:
    """How to reach a running server: enough to build any URL or libpq setting."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    maintenance_db: str = "postgres"

    def url(self, database: str, driver: str = DRIVER) -> URL:
        """A SQLAlchemy URL for `database`; `driver` is whichever DBAPI the caller will load."""
        return URL.create(
            f"postgresql+{driver}",
            username=self.user,
            password=self.password or None,
            host=self.host,
            port=self.port,
            database=database,
        )

    def conninfo(self, database: str) -> str:
        return psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=database,
            connect_timeout=10,
        )


DROP_AT_ONCE = 4  # databases dropped side by side at exit


class Server:
    """A running PostgreSQL server that hands out uniquely named throwaway databases.

    Subclasses implement `_start`, `_stop` and `endpoint`. Use as a context manager:
    a failed start tears down whatever it had made before the error propagates, and
    exit drops every database this object created (unless the server goes with them),
    then stops the server.
    """

    backend: str = "abstract"
    # Stopping the server removes its data (a cluster of our own, a container): dropping
    # each database first would only delay the exit.
    disposable: bool = False
    session_wait_s: float = sessions.WAIT_S  # how long others get to leave a database we must clone or drop

    def __init__(self) -> None:
        self.run_id = uuid.uuid4().hex[:10]
        self._counter = itertools.count(1)
        self._created: list[str] = []
        self._version: str | None = None

    # --- backend hooks -------------------------------------------------------
    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    @property
    def endpoint(self) -> Endpoint:
        raise NotImplementedError

    def describe(self) -> str:
        """Where the server lives, for messages (never includes a password)."""
        ep = self.endpoint
        return f"{self.backend} server at {ep.host}:{ep.port}"

    # --- lifecycle -----------------------------------------------------------
    def __enter__(self) -> Server:
        try:
            self._start()
        except BaseException:
            self._stop_quietly()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            if not self.disposable:
                self.drop_created_databases()
        finally:
            self._stop_quietly()

    def _stop_quietly(self) -> None:
        # Teardown must not hide the error that brought us here.
        with contextlib.suppress(Exception):
            self._stop()

    # --- shared database handling -------------------------------------------
    def connect(self, database: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        ep = self.endpoint
        try:
            return psycopg.connect(ep.conninfo(database or ep.maintenance_db), autocommit=autocommit,
                                   application_name=self.application_name)
        except psycopg.OperationalError as exc:
            raise ServerError.from_connect_error(exc, ep, self.backend) from None

    @property
    def application_name(self) -> str:
        """What pg_stat_activity shows for the harness's own sessions: ours, and which run's."""
        return f"{sessions.APPLICATION} {self.run_id}"

    def url(self, database: str, driver: str = DRIVER) -> URL:
        return self.endpoint.url(database, driver)

    @property
    def version(self) -> str:
        """The exact server version, e.g. '15.18'."""
        if self._version is None:
            with self.connect() as conn:
                self._version = conn.execute("SHOW server_version").fetchone()[0].split()[0]
        return self._version

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def new_database_name(self, purpose: str) -> str:
        # Every name carries the run id so a shared server (url backend) never sees
        # two runs collide, and leftovers are recognisably ours.
        return f"verify_{self.run_id}_{next(self._counter)}_{purpose}"[:63]

    def create_database(self, purpose: str, template: str | None = None, name: str | None = None) -> str:
        """Create a fresh database (optionally cloned from `template`) and return its name."""
        name = name or self.new_database_name(purpose)
        if template:
            self._disconnect(template)
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        with self.connect() as conn, sessions.still_in_use(template or "template1"):
            try:
                conn.execute(stmt)
            except psycopg.errors.InsufficientPrivilege:
                raise ServerError(privileges.cannot_create_databases(self)) from None
        self._created.append(name)
        return name

    def _disconnect(self, database: str) -> None:
        # Cloning, renaming or dropping needs the database to itself: sessions of the step
        # before may still be closing, and an env.py engine left open would block it. Only
        # our own role's sessions in our own databases are ever terminated (harness/sessions.py).
        with self.connect() as conn:
            sessions.release(conn, database, created_by_us=database in self._created,
                             wait_s=self.session_wait_s)

    def rename_database(self, name: str, purpose: str, to: str | None = None) -> str:
        """Give a database this object created a new unique name (or `to`); returns it."""
        new_name = to or self.new_database_name(purpose)
        self._disconnect(name)
        with self.connect() as conn, sessions.still_in_use(name):
            conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(name), sql.Identifier(new_name)))
        self._created[self._created.index(name)] = new_name
        return new_name

    def adopt(self, name: str) -> None:
        """Take a database a killed run of ours left behind as this run's own (dropped on exit)."""
        if name not in self._created:
            self._created.append(name)

    def drop_database(self, name: str) -> None:
        # No WITH (FORCE): it would signal every session, autovacuum's too, which an
        # ordinary role may not; _disconnect clears what is ours and PostgreSQL the rest.
        self._disconnect(name)
        drop = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
        with self.connect() as conn, sessions.still_in_use(name):
            conn.execute(drop)
            # What a killed client's CREATE DATABASE, still running or committed just after
            # the DROP looked, made after all.
            sessions.wait_for_creation(conn, name)
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(drop)
        if name in self._created:
            self._created.remove(name)

    def drop_created_databases(self) -> None:
        """Every database this object created, dropped at once (each on connections of its
        own): one after the other they were most of a short run's exit."""
        def drop(name: str) -> None:
            try:
                self.drop_database(name)
            except Exception:  # noqa: BLE001 - best effort: the server may already be gone
                with contextlib.suppress(ValueError):
                    self._created.remove(name)

        names = list(self._created)
        if len(names) < 2:
            for name in names:
                drop(name)
            return
        with ThreadPoolExecutor(max_workers=min(len(names), DROP_AT_ONCE)) as pool:
            list(pool.map(drop, names))

