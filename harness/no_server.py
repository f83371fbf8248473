"""The `none` backend: no server at all, for runs whose stages read files only.

A pre-commit hook runs on every commit, on machines that may have no PostgreSQL and no
Docker; the files, heads and lint stages never connect, so nothing is started. Anything
that does ask for a database is told, in one line, that this backend has none.
"""

from __future__ import annotations

import psycopg

from harness.errors import ServerError
from harness.server import Endpoint, Server

# env.py may build a URL from the server it is handed (offline mode too); this one
# resolves nowhere, so a revision that tries to connect fails at once, not after a timeout.
PLACEHOLDER = Endpoint("offline.invalid", 5432, "offline", "")


class NoServer(Server):
    backend = "none"

    @property
    def endpoint(self) -> Endpoint:
        return PLACEHOLDER

    @property
    def version(self) -> str:
        return "none"

    def describe(self) -> str:
        return "no server (the chosen stages read the files only)"

    def _start(self) -> None:
        pass

    def _stop(self) -> None:
        pass

    def connect(self, database: str | None = None, autocommit: bool = True) -> psycopg.Connection:
        raise ServerError("this run started no PostgreSQL server (backend none: the files, heads and lint "
                          "stages only); drop --backend none, or give --url or --pg, to run the others")
