"""Which database to diagnose, and a connection to it that cannot write.

The URL comes from --url, else DATABASE_URL, else alembic.ini's sqlalchemy.url: the one
order every command on the developer's database uses (checks/recovery/target_url.py), so
the `invoke stamp` doctor prints writes to the database it diagnosed. The session is read-only at the server
(default_transaction_read_only), so even a bug in the suite cannot change the database,
and short timeouts keep a busy production table from making doctor wait on its locks.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import URL

from checks.errors import ConfigError
from checks.project.project import Project
from checks.recovery.target_url import place, resolve_url
from harness.errors import ServerError
from harness.server import Endpoint
from harness.url import parse_url

LOCK_TIMEOUT_S = 2
SESSION_OPTIONS = ("-c default_transaction_read_only=on -c statement_timeout=15000 "
                   f"-c lock_timeout={LOCK_TIMEOUT_S * 1000} -c idle_in_transaction_session_timeout=60000")


@dataclass(frozen=True)
class Target:
    url: URL
    source: str  # where the URL came from, for the report

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.url.host or "localhost", self.url.port or 5432,
                        self.url.username or "", self.url.password or "", self.url.database or "")

    def describe(self) -> str:
        user = f"{self.url.username}@" if self.url.username else ""
        return f"{user}{self.url.host or 'localhost'}:{self.url.port or 5432}/{self.url.database}"

    def place(self) -> str:
        """'app_dev on localhost:5432', as every recovery task names its database."""
        endpoint = self.endpoint
        return place(endpoint.maintenance_db, endpoint.host, endpoint.port)


def choose_target(url: str | None, project: Project) -> Target:
    found = resolve_url(url, project)
    if found is None:
        raise ConfigError("no database to diagnose: pass --url postgresql://USER@HOST:PORT/DB, or set "
                          "DATABASE_URL or sqlalchemy.url in alembic.ini")
    return Target(_parse(found.text, found.source), found.source)


def _parse(text: str, where: str) -> URL:
    parsed = parse_url(text, where)
    backend = parsed.get_backend_name()
    if backend != "postgresql":
        raise ConfigError(f"{where} names a {backend} database; doctor diagnoses PostgreSQL only: "
                          "pass --url postgresql://...")
    if not parsed.database:
        raise ConfigError(f"{where} names no database; add it to the URL: postgresql://USER@HOST/DB")
    return parsed


def connect(target: Target) -> psycopg.Connection:
    """A read-only session on the diagnosed database."""
    endpoint = target.endpoint
    params = {"host": endpoint.host, "port": endpoint.port, "dbname": endpoint.maintenance_db,
              "connect_timeout": 10, "options": SESSION_OPTIONS,
              "application_name": "alembic-preflight doctor"}
    if endpoint.user:
        params["user"] = endpoint.user
    if endpoint.password:
        params["password"] = endpoint.password
    try:
        conn = psycopg.connect(psycopg.conninfo.make_conninfo(**params), autocommit=False)
    except psycopg.Error as exc:
        error = ServerError.from_connect_error(exc, endpoint, "diagnosed")
        raise ConfigError(f"{error} (URL from {target.source})") from None
    # Belt and braces: every transaction is also opened as BEGIN READ ONLY.
    conn.read_only = True
    return conn
