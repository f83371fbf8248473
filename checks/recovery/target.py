"""Which database a recovery task acts on, and whether it looks like a local one."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass

from checks.errors import ConfigError
from checks.recovery.target_url import place, resolve_url
from harness.url import UrlServer

# Services a developer's compose setup calls its database; `dev` is ours (invoke db-up).
COMPOSE_SERVICES = frozenset({"dev", "db", "postgres", "postgresql", "database",
                              *(f"pg{major}" for major in range(13, 19))})
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "host.docker.internal"})
# "prod" anywhere (app_prod, prodcopy) but not in "products"; "live" only as a word (not "olive").
_PROD_WORDS = re.compile(r"production|prod(?!uct)|(?<![a-z])live(?![a-z])", re.IGNORECASE)
SYSTEM_DATABASES = ("postgres", "template0", "template1")


@dataclass
class Target:
    """A developer's database, by URL; `server` reaches it (and never stops or drops it itself)."""

    server: UrlServer
    source: str = "--url"  # where the URL came from, shown with the database

    @classmethod
    def resolve(cls, url: str | None, project=None) -> Target:
        """The target by the one order every command uses: --url, DATABASE_URL, alembic.ini."""
        found = resolve_url(url, project)
        if found is None:
            raise ConfigError("no database named: pass --url postgresql://USER@localhost/DBNAME "
                              "or set DATABASE_URL")
        target = cls.from_url(found.text, found.source)
        target.source = found.source
        return target

    @classmethod
    def from_url(cls, url: str | None, where: str | None = None) -> Target:
        """`where` names the URL's source in messages (by default --url, or DATABASE_URL)."""
        where = where or ("--url" if url else "DATABASE_URL")
        url = url or os.environ.get("DATABASE_URL")
        if not url:
            raise ConfigError("no database named: pass --url postgresql://USER@localhost/DBNAME "
                              "or set DATABASE_URL")
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]  # Heroku-style DATABASE_URL
        return cls(UrlServer(url, where))

    @property
    def name(self) -> str:
        return self.server.endpoint.maintenance_db

    @property
    def host(self) -> str:
        return self.server.endpoint.host

    def describe(self) -> str:
        """'app_dev on localhost:5432' (never the password)."""
        ep = self.server.endpoint
        return place(self.name, ep.host, ep.port)

    def connect(self, database: str | None = None, autocommit: bool = True):
        return self.server.connect(database or self.name, autocommit=autocommit)

    def maintenance(self):
        """A connection to the server's `postgres` database, to drop or create this one."""
        return self.server.connect("postgres")

    def exists(self) -> bool:
        with self.maintenance() as conn:
            return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                (self.name,)).fetchone() is not None

    def require_application_database(self) -> None:
        if self.name in SYSTEM_DATABASES:
            raise ConfigError(f"refusing to touch the system database {self.name!r}; name your "
                              "application's database in --url")

    def not_local_because(self) -> list[str]:
        """Why this does not look like a developer's own database; empty if it does."""
        reasons = []
        if not _local_host(self.host):
            reasons.append(f"host {self.host!r} is not loopback, localhost, a unix socket or a "
                           "compose service of ours")
        word = _PROD_WORDS.search(self.name)
        if word:
            reasons.append(f"the database name {self.name!r} contains {word.group(0)!r}")
        return reasons


def _local_host(host: str) -> bool:
    if host.startswith("/") or host.lower() in LOCAL_NAMES or host in COMPOSE_SERVICES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
