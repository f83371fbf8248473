"""Where a local cluster lives and on which port: in memory (a tmpfs with room to spare)
unless the user set a temp folder, a run killed with its cluster there cleaned up by the
next wherever that one puts its own; and a port someone takes first given up for another."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from harness import local, local_clusters
from harness.local import LocalServer
from harness.local_clusters import STAMP, cluster_base, new_cluster_folder, orphaned_folders
from harness.owner import owner_record

pytestmark = pytest.mark.skipif(not local_clusters._is_tmpfs(local_clusters.MEMORY_BASE),
                                reason="this machine has no tmpfs at /dev/shm")


@pytest.fixture
def no_temp_folder(monkeypatch):
    for name in ("TMPDIR", "TEMP", "TMP"):
        monkeypatch.delenv(name, raising=False)


def _filesystem(path) -> str:
    mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    best = max((fields for fields in mounts if str(path).startswith(fields[1].rstrip("/") + "/")),
               key=lambda fields: len(fields[1]))
    return best[2]


def test_a_local_server_keeps_its_data_in_memory(no_temp_folder):
    with LocalServer() as server:
        datadir = server._workdir / "data"
        assert datadir.is_relative_to(local_clusters.MEMORY_BASE)
        assert _filesystem(datadir) == "tmpfs"
        with server.connect() as conn:
            assert conn.execute("SHOW data_directory").fetchone()[0] == str(datadir)


@pytest.fixture
def temp_folder(monkeypatch):
    """TMPDIR set to a folder of the user's own that every account can reach (the server may
    run as another account when the suite runs as root)."""
    folder = Path(tempfile.mkdtemp(prefix="alembic-preflight-tmpdir-", dir="/tmp"))
    folder.chmod(0o755)
    monkeypatch.setenv("TMPDIR", str(folder))
    monkeypatch.setattr(tempfile, "tempdir", None)  # read TMPDIR again
    yield folder
    monkeypatch.undo()
    tempfile.tempdir = None
    shutil.rmtree(folder, ignore_errors=True)


def test_a_set_temp_folder_wins(temp_folder):
    assert cluster_base(None) == temp_folder
    with LocalServer() as server:
        with server.connect() as conn:
            datadir = Path(conn.execute("SHOW data_directory").fetchone()[0])
        assert datadir.is_relative_to(temp_folder)
        assert not datadir.is_relative_to(local_clusters.MEMORY_BASE)
    assert not datadir.exists()  # removed with the server


def test_too_little_room_in_memory_falls_back_to_the_temp_folder(no_temp_folder, monkeypatch):
    free = os.statvfs(local_clusters.MEMORY_BASE)
    monkeypatch.setattr(local_clusters, "MEMORY_MIN_FREE", free.f_bavail * free.f_frsize * 2 + (1 << 30))
    assert cluster_base(None) != local_clusters.MEMORY_BASE


def test_a_dead_runs_folder_in_memory_is_found_when_another_run_looks(no_temp_folder, monkeypatch, tmp_path):
    folder = new_cluster_folder(None)
    assert folder.is_relative_to(local_clusters.MEMORY_BASE)
    gone = os.fork()
    if gone == 0:
        os._exit(0)
    os.waitpid(gone, 0)
    (folder / STAMP).write_text(json.dumps({**owner_record(), "pid": gone}))
    try:
        monkeypatch.setenv("TMPDIR", str(tmp_path))  # this run would put its cluster elsewhere
        assert folder in orphaned_folders()
    finally:
        (folder / STAMP).unlink()
        folder.rmdir()


def test_a_port_taken_before_the_server_binds_it_is_given_up_for_another(monkeypatch):
    """Two test runs side by side: a free port is taken by another program first."""
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = [taken.getsockname()[1]]
    free = local._free_port

    def next_port() -> int:
        return ports.pop() if ports else free()

    monkeypatch.setattr(local, "_free_port", next_port)
    try:
        with LocalServer() as server:
            assert server.endpoint.port != taken.getsockname()[1]
            with server.connect() as conn:
                assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        taken.close()
