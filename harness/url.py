"""The `url` backend: an existing server the user points us at (a CI service container, say).

Only databases this run creates are ever touched; they are dropped on exit, and stamped
so the next run drops them if this one is killed (harness/database_stamps.py).
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from harness import privileges
from harness.database_stamps import drop_orphaned_databases, stamp_database
from harness.errors import HarnessError
from harness.server import Endpoint, Server

EXPECTED = "postgresql://USER:PASSWORD@HOST:PORT/DATABASE"


def parse_url(text: str, where: str) -> URL:
    """`text` as a URL naming one server, or a one-line HarnessError naming `where` it came from."""
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number (h1:5432,h2:5432)
        parsed = None
    hosts = _host_lists(text, parsed)
    if hosts:
        raise HarnessError(f"{where} names several hosts ({hosts[0]}); give one host: {EXPECTED}")
    if parsed is None:
        raise HarnessError(f"{where} is not a database URL; expected {EXPECTED}")
    return parsed


def _host_lists(text: str, parsed: URL | None) -> list[str]:
    """libpq's failover lists in the URL (h1:5432,h2:5432, or ?host= twice or with commas): every
    throwaway database, drop and stamp would go to whichever host answered first."""
    # After the last @, so no part of a password (even one with an unescaped / or ,) is shown.
    after_user = text.split("://", 1)[-1].rpartition("@")[2].split("/", 1)[0].split("?", 1)[0]
    in_query = parsed.query.get("host", ()) if parsed is not None else ()
    in_query = (in_query,) if isinstance(in_query, str) else in_query
    return [hosts for hosts in (after_user, ",".join(in_query)) if "," in hosts]


class UrlServer(Server):
    backend = "url"

    def __init__(self, url: str, where: str = "--url") -> None:
        super().__init__()
        parsed = parse_url(url, where)
        if parsed.get_backend_name() != "postgresql":
            raise HarnessError(f"{where} names a {parsed.get_backend_name()} database; this suite "
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
