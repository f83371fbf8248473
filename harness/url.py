"""The `url` backend: an existing server the user points us at (a CI service container, say).

Only databases this run creates are ever touched; they are dropped on exit, and stamped
so the next run drops them if this one is killed (harness/database_stamps.py).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from harness import privileges
from harness.database_stamps import drop_orphaned_databases, stamp_database
from harness.errors import HarnessError
from harness.server import Endpoint, Server


class UrlServer(Server):
    backend = "url"

    def __init__(self, url: str) -> None:
        super().__init__()
        try:
            parsed = make_url(url)
        except ArgumentError:
            raise HarnessError("--url is not a database URL; expected "
                               "postgresql://USER:PASSWORD@HOST:PORT/DATABASE") from None
        if parsed.get_backend_name() != "postgresql":
            raise HarnessError(f"--url names a {parsed.get_backend_name()} database; this suite "
                               "verifies PostgreSQL only: give a postgresql:// URL")
        self._endpoint = Endpoint(
            # ?host=/var/run/postgresql is libpq's way to name a unix socket folder.
            host=parsed.host or parsed.query.get("host") or "localhost",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password or "",
            maintenance_db=parsed.database or "postgres",
        )

    @property
    def endpoint(self) -> Endpoint:
        return self._endpoint

    def _start(self) -> None:
        # Fail early, in one line, if the server is unreachable or the role may not create
        # the databases every stage needs.
        with self.connect() as conn:
            privileges.require_createdb(conn, self)
        drop_orphaned_databases(self)

    def create_database(self, purpose: str, template: str | None = None, name: str | None = None) -> str:
        name = super().create_database(purpose, template, name)
        stamp_database(self, name)
        return name

    def _stop(self) -> None:
        pass  # not ours to stop
