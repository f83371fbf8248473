"""Where local clusters live, who owns each, and removing the ones a killed run left behind.

Every cluster folder (data directory, socket, log) is made under one parent of ours,
alembic-preflight-clusters-<uid>, and stamped with its owner (see harness/owner.py) the
moment it exists. A run killed outright leaves its postmaster running and its folder
on disk; the next local server to start stops that postmaster and removes the folder.
Folders without a stamp, with a live owner, or with an owner on another host are
never touched.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import shutil
import signal
import stat
import sys
import tempfile
import time
from pathlib import Path

from harness.errors import ServerError
from harness.owner import owner_record, process_start, record_alive

STAMP = "owner.json"
STOP_TIMEOUT_S = 10.0
# A throwaway cluster lives in memory when the machine offers a RAM-backed folder with room
# to spare: creating a database or a table then writes no file to a disk (on a virtual
# disk that took 0.35s per CREATE DATABASE, 0.02s in memory). TMPDIR, when set, is the
# user's choice and wins; a migration that loads much data may want that.
MEMORY_BASE = Path("/dev/shm")
MEMORY_MIN_FREE = 2 << 30  # bytes


def _folder_name() -> str:
    return f"alembic-preflight-clusters-{os.geteuid()}"


def _bases() -> list[Path]:
    """TMPDIR first (the user's choice), then the shared temp folders every account can traverse."""
    found: list[Path] = []
    for base in (Path(tempfile.gettempdir()), Path("/tmp"), Path("/var/tmp")):
        if base not in found:
            found.append(base)
    return found


def shared_base() -> Path:
    """The first of the temp folders that every account can reach (search permission for
    others on it and each parent); TMPDIR when that is all there is."""
    for base in _bases():
        folders = (base.resolve(), *base.resolve().parents)
        if all(f.is_dir() and f.stat().st_mode & stat.S_IXOTH for f in folders):
            return base
    return _bases()[0]


def _may_traverse(path: Path, account: pwd.struct_passwd) -> bool:
    """Whether `account` can reach inside `path`: search permission on it and every parent."""
    groups = {account.pw_gid} | {g.gr_gid for g in grp.getgrall() if account.pw_name in g.gr_mem}
    for folder in (path.resolve(), *path.resolve().parents):
        try:
            info = folder.stat()
        except OSError:
            return False
        if info.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        elif info.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not info.st_mode & bit:
            return False
    return True


def _memory_base(account: pwd.struct_passwd | None) -> Path | None:
    """MEMORY_BASE, when no temp folder is set (TMPDIR, TEMP, TMP) and it is a tmpfs the
    server's account can reach with MEMORY_MIN_FREE bytes free (a container's 64 MB is not)."""
    if any(os.environ.get(name) for name in ("TMPDIR", "TEMP", "TMP")) or not _is_tmpfs(MEMORY_BASE):
        return None
    try:
        info = os.statvfs(MEMORY_BASE)
    except OSError:
        return None
    if info.f_bavail * info.f_frsize < MEMORY_MIN_FREE:
        return None
    return MEMORY_BASE if account is None or _may_traverse(MEMORY_BASE, account) else None


def _is_tmpfs(path: Path) -> bool:
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(len(fields) > 2 and fields[1] == str(path) and fields[2] == "tmpfs"
               for fields in (line.split() for line in mounts))


def cluster_base(account: pwd.struct_passwd | None) -> Path:
    """Where a cluster's folder goes: in memory when it can be, else a reachable temp folder."""
    return _memory_base(account) or reachable_base(account)


def reachable_base(account: pwd.struct_passwd | None) -> Path:
    """A temp folder under which the server's account can reach what we make for it.

    As root, PostgreSQL runs as an unprivileged account, and a private TMPDIR (mktemp -d
    makes it 0700) would hide the data directory from it ("could not access directory:
    Permission denied"); then the system's shared temp folder serves instead.
    """
    for base in _bases():
        if base.is_dir() and (account is None or _may_traverse(base, account)):
            return base
    raise ServerError(f"the {account.pw_name!r} account that runs PostgreSQL cannot reach "
                      f"{', '.join(map(str, _bases()))}; set TMPDIR to a folder it can traverse")


def _own_folder(path: Path) -> Path:
    """Our parent folder, made if missing; refused if someone else made that name first."""
    path.mkdir(mode=0o755, exist_ok=True)
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise ServerError(f"{path} is not a folder of this user's (a link, or someone else's); "
                          "remove it, or set TMPDIR to a private folder")
    os.chmod(path, 0o755)  # reachable by the server's account; its children are what matter
    return path


def new_cluster_folder(account: pwd.struct_passwd | None, prefix: str = "pg-") -> Path:
    """A fresh folder for one cluster, stamped with this process as its owner."""
    parent = _own_folder(cluster_base(account) / _folder_name())
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(folder, 0o755)
    (folder / STAMP).write_text(json.dumps(owner_record()))
    return folder


def owner_of(folder: Path) -> dict | None:
    """The owner stamped in a cluster folder, or None if it has no readable stamp."""
    try:
        record = json.loads((folder / STAMP).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def orphaned_folders() -> list[Path]:
    """Our cluster folders whose owner is known to be gone."""
    found = []
    # Every place a run may have put one, whatever this run would choose.
    for base in dict.fromkeys([MEMORY_BASE, *_bases()]):
        parent = base / _folder_name()
        if not parent.is_dir() or parent.is_symlink():
            continue
        for folder in sorted(parent.iterdir()):
            record = owner_of(folder)
            if record is not None and record_alive(record) is False:
                found.append(folder)
    return found


def postmaster_of(datadir: Path) -> int | None:
    """The pid of the postmaster serving `datadir`, if one runs (checked, not just read from a file)."""
    try:
        pid = int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
        # The postmaster works in its data directory: a reused pid cannot match both.
        cwd = os.path.realpath(f"/proc/{pid}/cwd")
    except OSError:
        return None
    if name not in ("postgres", "postmaster") or cwd != os.path.realpath(datadir):
        return None
    return pid if process_start(pid) is not None else None


def stop_postmaster(datadir: Path) -> None:
    """Immediate shutdown (SIGQUIT) of the cluster's postmaster and its backends; SIGKILL if it lingers."""
    pid = postmaster_of(datadir)
    if pid is None:
        return
    started = process_start(pid)
    with contextlib.suppress(ProcessLookupError):  # it may end on its own meanwhile
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while process_start(pid) == started and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_start(pid) == started:
            os.kill(pid, signal.SIGKILL)


def remove_orphaned_clusters() -> list[Path]:
    """Stop and remove every cluster of ours whose run is gone; returns the folders removed."""
    removed = []
    for folder in orphaned_folders():
        try:
            stop_postmaster(folder / "data")
            shutil.rmtree(folder)
        except FileNotFoundError:
            continue  # another run's sweep was first
        except OSError as exc:  # best effort: it must not stop this run
            print(f"alembic-preflight: could not remove the local cluster {folder} a killed run left: {exc}",
                  file=sys.stderr)
        else:
            removed.append(folder)
    return removed
