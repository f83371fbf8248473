"""pg_dump/pg_restore in custom format, with the dump's revision recorded beside it.

A backup is `<folder>/<database>-<UTC time>-<why>.dump` plus a `.json` sidecar naming
the database, the server, the pg_dump used and the Alembic revision(s) the database
was at, so a restore can say what it brings back without opening the archive.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from psycopg import sql

from checks.errors import VerifyError
from checks.recovery import watched
from checks.recovery.database import add_back_extensions, recreate
from checks.recovery.grants import missing_grant
from checks.recovery.target import Target
from harness.client_tools import client_tool
from harness.server import Endpoint

DEFAULT_FOLDER = Path("backups")


class BackupError(VerifyError):
    """pg_dump or pg_restore failed: exit code 1, with the tool's own words."""


@dataclass
class Backup:
    path: Path

    @property
    def sidecar(self) -> Path:
        return self.path.with_suffix(".json")

    def info(self) -> dict:
        try:
            return json.loads(self.sidecar.read_text())
        except (OSError, ValueError):
            return {}


def recorded_revisions(target: Target, version_table: str = "alembic_version",
                       schema: str | None = None) -> list[str]:
    """What the version table says, read with SQL; [] when there is none."""
    table = sql.Identifier(schema, version_table) if schema else sql.Identifier(version_table)
    with target.connect() as conn:
        if conn.execute("SELECT to_regclass(%s)", (table.as_string(conn),)).fetchone()[0] is None:
            return []
        return sorted(r[0] for r in conn.execute(sql.SQL("SELECT version_num FROM {}").format(table)))


def tool_environment(target: Target) -> dict[str, str]:
    return endpoint_environment(target.server.endpoint)


def endpoint_environment(ep: Endpoint) -> dict[str, str]:
    # The password goes through the environment: a command line is visible in `ps`.
    env = {**os.environ}
    if ep.password:
        env["PGPASSWORD"] = ep.password
    return env


def connection_args(target: Target) -> list[str]:
    return endpoint_args(target.server.endpoint)


def endpoint_args(ep: Endpoint) -> list[str]:
    """pg_dump/pg_restore/psql options reaching `ep` (the password goes by environment)."""
    return ["--host", ep.host, "--port", str(ep.port), "--username", ep.user, "--no-password"]


def _run(cmd: list[str], target: Target, what: str) -> None:
    proc = subprocess.run(cmd, env=tool_environment(target), capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-5:])
        raise BackupError(f"{what} of {target.describe()} failed (exit {proc.returncode}): {tail}")


def _dump_failed(target: Target, dumped: watched.Finished) -> BackupError:
    if watched.lock_timed_out(dumped.stderr):
        held = f": it was {dumped.wait.describe()}" if dumped.wait else ""
        return BackupError(
            f"pg_dump of {target.describe()} waited {watched.LOCK_WAIT_S:g} s for a table's lock and gave "
            f"up{held}; let that session finish (or end it with pg_terminate_backend(pid)), then back "
            "up again; nothing was changed")
    role = target.server.endpoint.user
    missing = missing_grant(dumped.stderr, role, writes=False)
    if missing:
        kind, name, grant = missing
        return BackupError(
            f"pg_dump of {target.describe()} may not read {kind} {name} as {role}, and a backup reads "
            f"everything: {grant} (or run as the database's owner); nothing was changed")
    tail = " | ".join(dumped.stderr.strip().splitlines()[-5:])
    return BackupError(f"pg_dump of {target.describe()} failed (exit {dumped.returncode}): {tail}")



def _new_path(folder: Path, database: str, reason: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{database}-{stamp}-{reason}.dump"
    n = 2
    while path.exists():
        path = folder / f"{database}-{stamp}-{reason}-{n}.dump"
        n += 1
    return path


def _private_folder(folder: Path) -> None:
    """A folder made here is its owner's alone (0700) and ignored by git: a dump holds every
    row, and a `git add .` must not publish it."""
    if folder.is_dir():
        return
    folder.mkdir(parents=True, mode=0o700)
    folder.chmod(0o700)  # mkdir's mode is filtered through the umask
    (folder / ".gitignore").write_text("# written by alembic-preflight: backups hold every row\n*\n")


def _private_file(path: Path) -> Path:
    """Create `path` readable by its owner only (0600), before anything is written into it."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    path.chmod(0o600)
    return path


def backup(target: Target, folder: Path = DEFAULT_FOLDER, reason: str = "backup") -> Backup:
    """Dump the target into a new file in `folder`, readable by its owner only; nothing is overwritten."""
    server_major = target.server.major
    pg_dump = client_tool("pg_dump", server_major)
    _private_folder(folder)
    result = Backup(_private_file(_new_path(folder, target.name, reason)))
    at = recorded_revisions(target)
    waits = f"--lock-wait-timeout={int(watched.LOCK_WAIT_S * 1000)}"
    dumped = watched.run_watched(
        [pg_dump.path, "--format=custom", "--file", str(result.path), waits, *connection_args(target),
         "--dbname", target.name], tool_environment(target), target, "pg_dump")
    if dumped.returncode != 0:
        result.path.unlink(missing_ok=True)  # no empty file that looks like a backup
        raise _dump_failed(target, dumped)
    ep = target.server.endpoint
    _private_file(result.sidecar).write_text(json.dumps({
        "database": target.name, "host": ep.host, "port": ep.port, "user": ep.user,
        "server_version": target.server.version, "pg_dump_major": pg_dump.major,
        "revisions": at, "reason": reason,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }, indent=2) + "\n")
    return result


def check_readable(path: Path, target: Target):
    """The pg_restore for this dump and target, once it has read the file's whole table of contents.

    A truncated or foreign file fails here, while the database is still untouched.
    """
    if not path.is_file():
        raise BackupError(f"no backup file at {path}; backups are in the backups/ folder (ls backups/)")
    dumped_by = Backup(path).info().get("pg_dump_major", 0)
    pg_restore = client_tool("pg_restore", max(target.server.major, dumped_by))
    listing = subprocess.run([pg_restore.path, "--list", str(path)], capture_output=True, text=True,
                             errors="replace")
    if listing.returncode != 0:
        reason = " | ".join(listing.stderr.strip().splitlines()[-3:])
        raise BackupError(f"{path} is not a backup pg_restore {pg_restore.major} can read ({reason}); "
                          "nothing was changed")
    return pg_restore


def restore(path: Path, target: Target, disconnect: bool = False, out=None) -> None:
    """Replace the target with the dump at `path`: drop, create, pg_restore in one transaction.

    Objects keep no owner from the dump (--no-owner): the restoring user owns them, so a
    dump taken as another role still restores on a developer's machine. The database
    itself keeps its owner, grants, settings, comment and extensions (recreate).
    """
    pg_restore = check_readable(path, target)
    state = recreate(target, disconnect=disconnect)
    _run([pg_restore.path, "--single-transaction", "--exit-on-error", "--no-owner",
          *connection_args(target), "--dbname", target.name, str(path)], target, "pg_restore")
    add_back_extensions(target, state, "restore", out or sys.stdout)
