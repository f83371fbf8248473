"""Nothing is left behind, whatever kills a run: what a run killed with SIGKILL leaves
(a running local cluster, databases on a url server) is removed by the next run, and
nothing without our stamp, with a live owner, or from another host is ever touched.

Runs are killed while they hold a query open on their server (see holding.py).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from cli_support import run_cli
from holding import holding_project, kill_while_holding

from harness.database_stamps import comment_database, drop_orphaned_databases, stamp_database
from harness.local_clusters import (
    STAMP,
    new_cluster_folder,
    orphaned_folders,
    postmaster_of,
    remove_orphaned_clusters,
)
from harness.owner import owner_record, process_start


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == str(pid):
                found.append(int(entry.name))
    return found


def alive(pids: list[int]) -> list[int]:
    return [pid for pid in pids if process_start(pid) is not None]


# --- local backend --------------------------------------------------------------
@pytest.mark.parametrize("stage", ["fresh", "drift", "roundtrip"])
def test_local_cluster_of_a_run_killed_in_each_stage_is_removed_by_the_next(stage, tmp_path):
    project = holding_project(tmp_path / "project")
    killed = kill_while_holding(project, stage, ["--backend", "local"], tmp_path).pid

    [folder] = [f for f in orphaned_folders() if json.loads((f / STAMP).read_text())["pid"] == killed]
    postmaster = postmaster_of(folder / "data")
    assert postmaster is not None, "SIGKILL of the run should have left its postmaster running"
    processes = [postmaster, *children_of(postmaster)]

    result = run_cli("verify", "--project", str(project), "--stage", "fresh", "--backend", "local")
    assert result.code == 0, result.stdout + result.stderr
    assert not folder.exists(), "the killed run's cluster folder is removed"
    assert alive(processes) == [], "the killed run's postmaster and backends are stopped"


def test_cluster_folders_without_our_stamp_a_live_owner_or_from_another_host_stay(tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead, reused, live, elsewhere, unstamped = (new_cluster_folder(None) for _ in range(5))
    (dead / STAMP).write_text(json.dumps({**owner_record(), "pid": gone.pid}))
    (reused / STAMP).write_text(json.dumps({**owner_record(), "start": "1"}))  # our pid, another process
    (elsewhere / STAMP).write_text(json.dumps({**owner_record(), "host": "elsewhere", "pid": gone.pid}))
    (unstamped / STAMP).unlink()
    try:
        removed = remove_orphaned_clusters()
        assert {dead, reused} <= set(removed)
        left = [f.exists() for f in (dead, reused, live, elsewhere, unstamped)]
        assert left == [False, False, True, True, True]
    finally:
        for folder in (live, elsewhere, unstamped):
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


def test_a_pid_file_naming_some_other_process_is_not_taken_for_a_postmaster(tmp_path):
    datadir = tmp_path / "data"
    datadir.mkdir()
    (datadir / "postmaster.pid").write_text(f"{os.getpid()}\n{datadir}\n")
    assert postmaster_of(datadir) is None  # this pytest process: not postgres, not working there


def test_local_server_runs_as_root_with_a_private_tmpdir(tmp_path):
    """As root, TMPDIR made by mktemp -d (0700) hid the data directory from the server's account."""
    private = tmp_path / "private-tmp"
    private.mkdir(mode=0o700)
    project = holding_project(tmp_path / "project")
    # A cache of its own: initdb runs too, in the folder the account must reach.
    env = {"TMPDIR": str(private), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = run_cli("verify", "--project", str(project), "--stage", "fresh", "--backend", "local", env=env)
    assert result.code == 0, result.stdout + result.stderr
    assert list(private.iterdir()) == []


# --- url backend ------------------------------------------------------------------
def comments(server) -> dict[str, str | None]:
    with server.connect() as conn:
        return dict(conn.execute("SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database"))


def test_url_databases_of_a_killed_run_are_dropped_by_the_next(pg_server, make_database, tmp_path):
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    bystander = make_database("bystander")  # this pytest process's own: alive
    stamp_database(pg_server, bystander)
    project = holding_project(tmp_path / "project")
    killed = kill_while_holding(project, "roundtrip", ["--url", url], tmp_path).pid

    left = [name for name, comment in comments(pg_server).items()
            if comment and comment.startswith("{") and json.loads(comment).get("pid") == killed]
    assert left, "SIGKILL of the run should have left its databases"
    assert all(name.startswith("verify_") for name in left)

    result = run_cli("verify", "--project", str(project), "--stage", "fresh", url=url)
    assert result.code == 0, result.stdout + result.stderr
    now = comments(pg_server)
    assert [name for name in left if name in now] == []
    assert bystander in now


def test_databases_without_our_stamp_a_live_owner_or_from_another_host_stay(pg_server, make_database):
    gone = subprocess.Popen(["true"])
    gone.wait()
    kinds = ("dead", "reused", "live", "elsewhere", "unstamped", "other")
    names = {kind: make_database(kind) for kind in kinds}
    stamp_database(pg_server, names["dead"], {**owner_record(), "pid": gone.pid})
    stamp_database(pg_server, names["reused"], {**owner_record(), "start": "1"})  # our pid, another process
    stamp_database(pg_server, names["live"])
    stamp_database(pg_server, names["elsewhere"], {**owner_record(), "host": "elsewhere", "pid": gone.pid})
    comment_database(pg_server, names["other"], json.dumps({**owner_record(), "pid": gone.pid}))  # not ours

    dropped = drop_orphaned_databases(pg_server)

    assert {names["dead"], names["reused"]} <= set(dropped)
    now = comments(pg_server)
    assert {kind: name in now for kind, name in names.items()} == {
        "dead": False, "reused": False, "live": True, "elsewhere": True, "unstamped": True, "other": True}


def test_a_leftover_another_role_is_still_in_is_named_once_and_skipped_without_waiting(
        pg_server, make_database, role, monkeypatch, capsys):
    gone = subprocess.Popen(["true"])
    gone.wait()
    name = make_database("held")
    stamp_database(pg_server, name, {**owner_record(), "pid": gone.pid})

    def no_wait(*_args, **_kwargs):
        raise AssertionError("waited for a session no run of ours can end")

    monkeypatch.setattr("harness.sessions.release", no_wait)
    with role.connect(name):
        dropped = drop_orphaned_databases(pg_server)
    said = [line for line in capsys.readouterr().err.splitlines() if name in line]

    assert name not in dropped and name in comments(pg_server)
    assert len(said) == 1 and "left database" in said[0] and role.name in said[0], said
