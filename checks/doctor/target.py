"""Which database to diagnose, and a connection to it that cannot write.

The URL comes from --url, else from what the project's env.py would read (alembic.ini's
sqlalchemy.url), else DATABASE_URL. The session is read-only at the server
(default_transaction_read_only), so even a bug in the suite cannot change the database,
and short timeouts keep a busy production table from making doctor wait on its locks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import URL

from checks.errors import ConfigError
from checks.project.project import Project
from harness.errors import ServerError
from harness.server import Endpoint
from harness.url import parse_url

# Alembic's `init` template writes this placeholder; it names no database.
_PLACEHOLDER_BACKEND = "driver"
SESSION_OPTIONS = ("-c default_transaction_read_only=on -c statement_timeout=15000 "
                   "-c lock_timeout=2000 -c idle_in_transaction_session_timeout=60000")


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


def choose_target(url: str | None, project: Project) -> Target:
    if url:
        return Target(_parse(url, "--url"), "--url")
    try:
        configured = project.config().get_main_option("sqlalchemy.url")
    except Exception:  # noqa: BLE001 - an interpolation the ini leaves to env.py, say
        configured = None
    if configured:
        parsed = _parse(configured, f"sqlalchemy.url in {project.ini_path}", allow_placeholder=True)
        if parsed is not None:
            return Target(parsed, f"sqlalchemy.url in {project.ini_path.name}")
    from_env = os.environ.get("DATABASE_URL")
    if from_env:
        return Target(_parse(from_env, "DATABASE_URL"), "DATABASE_URL")
    raise ConfigError("no database to diagnose: pass --url postgresql://USER@HOST:PORT/DB, or set "
                      "sqlalchemy.url in alembic.ini or DATABASE_URL")


def _parse(text: str, where: str, allow_placeholder: bool = False) -> URL | None:
    parsed = parse_url(text, where)
    backend = parsed.get_backend_name()
    if allow_placeholder and backend == _PLACEHOLDER_BACKEND:
        return None
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
