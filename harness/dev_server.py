"""The developer's persistent PostgreSQL: compose.dev.yml's `dev` service, data in a named volume.

Unlike every other server here it is not throwaway: `down` keeps the volume, so the
next `up` finds the same databases. It listens on loopback only, with trust auth.
"""

from __future__ import annotations

import os
import time

from harness.client_tools import installed_majors
from harness.compose import image_for
from harness.compose_cli import COMPOSE_FILE, run_compose
from harness.errors import ServerError
from harness.url import UrlServer

COMPOSE_DEV_FILE = COMPOSE_FILE.with_name("compose.dev.yml")
# VERIFY_DEV_NAME gives a second dev server of its own (its own compose project and volume),
# so two checkouts, or a test beside a developer's server, never share one by accident.
NAME = os.environ.get("VERIFY_DEV_NAME", "alembic-preflight")
PROJECT = f"dev-{NAME}"  # outside the throwaway prefix: never swept
SERVICE = "dev"
VOLUME = f"{NAME}-dev-data"
DEV_MAJORS = (13, 14, 15, 16, 17)  # 18 keeps its data elsewhere; the volume is mounted at .../data


def default_major() -> int:
    """The newest major this machine's pg_dump can back up, so `invoke backup` works on it."""
    usable = [m for m in installed_majors("pg_dump") if m in DEV_MAJORS]
    return max(usable, default=17)


def settings() -> tuple[int, str, int]:
    # The volume holds one major's data files: changing VERIFY_DEV_PG needs a new volume.
    major = int(os.environ.get("VERIFY_DEV_PG") or default_major())
    if major not in DEV_MAJORS:
        raise ServerError(f"VERIFY_DEV_PG={major}: the dev server runs PostgreSQL "
                          f"{', '.join(map(str, DEV_MAJORS))}")
    return major, os.environ.get("VERIFY_DEV_DB", "app_dev"), int(os.environ.get("VERIFY_DEV_PORT", 55432))


def url() -> str:
    _major, database, port = settings()
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def _env() -> dict[str, str]:
    major, database, port = settings()
    return {"VERIFY_DEV_IMAGE": image_for(major), "VERIFY_DEV_DB": database, "VERIFY_DEV_PORT": str(port),
            "VERIFY_DEV_VOLUME": VOLUME}


def up(timeout: float = 120) -> str:
    """Start (or keep) the dev server and wait until it answers; returns its URL."""
    run_compose(PROJECT, ["up", "-d", SERVICE], _env(), file=COMPOSE_DEV_FILE)
    server = UrlServer(url())
    deadline = time.monotonic() + timeout
    while True:
        try:
            with server.connect() as conn:
                conn.execute("SELECT 1")
            return url()
        except ServerError as exc:
            if time.monotonic() > deadline:
                raise ServerError(f"the dev server did not answer within {timeout:.0f}s ({exc}); "
                                  f"see `docker logs {PROJECT}_{SERVICE}_1`") from None
            time.sleep(0.5)


def down() -> None:
    """Stop and remove the container; the volume, and so every database in it, stays."""
    run_compose(PROJECT, ["down"], _env(), file=COMPOSE_DEV_FILE)
