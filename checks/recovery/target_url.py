"""Which database a command on the developer's own database means, and where that came from.

Every such command (doctor, current, pending, upgrade, stamp, downgrade, reset-db, backup,
restore, psql) resolves its URL here, in one order: --url, else DATABASE_URL, else the
project's alembic.ini `sqlalchemy.url`. With one order, the database doctor diagnoses is
the one the `invoke stamp` it prints writes to; and each prints the database it acts on
first, with where the URL came from, so a wrong one is seen before anything happens.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Alembic's `init` template writes this placeholder; it names no database.
_PLACEHOLDER_BACKEND = "driver"


@dataclass(frozen=True)
class TargetUrl:
    text: str  # the URL, password and all: never printed
    source: str  # "--url", "DATABASE_URL" or "sqlalchemy.url in alembic.ini"


def resolve_url(url: str | None, project=None) -> TargetUrl | None:
    """The URL to act on and where it came from; None when nothing names one."""
    if url:
        return TargetUrl(url, "--url")
    from_env = os.environ.get("DATABASE_URL")
    if from_env:
        return TargetUrl(from_env, "DATABASE_URL")
    configured = _configured(project) if project is not None else None
    if configured:
        return TargetUrl(configured, f"sqlalchemy.url in {project.ini_path.name}")
    return None


def _configured(project) -> str | None:
    """alembic.ini's sqlalchemy.url, unless it is missing or the `init` template's placeholder."""
    try:
        configured = project.config().get_main_option("sqlalchemy.url")
    except Exception:  # noqa: BLE001 - an interpolation the ini leaves to env.py, say
        return None
    if not configured:
        return None
    try:
        if make_url(configured).get_backend_name() == _PLACEHOLDER_BACKEND:
            return None
    except ArgumentError:
        pass  # not a URL: the command's own parsing says so, naming where it came from
    return configured


def place(name: str, host: str, port: int) -> str:
    """'app_dev on localhost:5432' (or 'on socket /run/postgresql'): never the password."""
    at = f"socket {host}" if host.startswith("/") else f"{host}:{port}"
    return f"{name} on {at}"


def announce(task: str, target, out: TextIO) -> None:
    """The first line of a task's output: the database it acts on, and where its URL came from."""
    out.write(f"{task}: {target.describe()} (URL from {target.source})\n")
    out.flush()
