"""An ordinary role on a test server: what most CI service databases hand out, never a superuser."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg

PASSWORD = "ci-role-secret"  # must never be printed
# What a role may have to see in no output: the symptom of signalling what it may not.
FORBIDDEN = ("InsufficientPrivilege", "permission denied", "must be a superuser", "must be a member",
             "Traceback", PASSWORD)


@dataclass(frozen=True)
class Role:
    name: str
    host: str
    port: int

    def url(self, database: str = "postgres", driver: str | None = None) -> str:
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://{self.name}:{PASSWORD}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host=self.host, port=self.port, user=self.name, password=PASSWORD,
                               dbname=database, autocommit=True)


@contextlib.contextmanager
def ordinary_role(server, *attributes: str) -> Iterator[Role]:
    """A LOGIN role with `attributes` ("CREATEDB", or none) on `server`; everything it owns goes after."""
    name = f"ci_user_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}' NOSUPERUSER {' '.join(attributes)}")
    try:
        yield Role(name, server.endpoint.host, server.endpoint.port)
    finally:
        with server.connect() as conn:
            for database in owned_databases(server, name):
                conn.execute(f'DROP DATABASE "{database}" WITH (FORCE)')  # the test's superuser cleans up
            conn.execute(f"DROP ROLE {name}")


def owned_databases(server, role: str) -> list[str]:
    with server.connect() as conn:
        return [r[0] for r in conn.execute("SELECT datname FROM pg_database d JOIN pg_roles r "
                                           "ON r.oid = d.datdba WHERE r.rolname = %s ORDER BY 1", (role,))]


def assert_nothing_forbidden(*texts: str) -> None:
    for text in texts:
        for word in FORBIDDEN:
            assert word not in text, f"{word!r} in:\n{text}"
