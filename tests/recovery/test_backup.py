"""backup and restore as plain functions: what the drills and the tasks both stand on."""

from __future__ import annotations

import json

import pytest
from recovery_support import ROWS, columns, table

from checks.recovery.backup import backup, restore
from checks.recovery.target import Target
from harness.client_tools import client_tool
from harness.errors import HarnessError


def test_backup_restores_into_a_fresh_database_identical(pg_server, make_database, dev_db, url_of,
                                                           tmp_path):
    made = backup(Target.from_url(url_of(dev_db)), tmp_path / "backups")

    assert made.path.parent == tmp_path / "backups" and made.path.name.startswith(f"{dev_db}-")
    assert made.path.suffix == ".dump" and made.path.stat().st_size > 0
    info = json.loads(made.sidecar.read_text())
    assert info["revisions"] == ["0002"] and info["database"] == dev_db
    assert "password" not in made.sidecar.read_text()

    fresh = make_database("restored")
    restore(made.path, Target.from_url(url_of(fresh)))
    assert table(pg_server, fresh) == ROWS
    assert columns(pg_server, fresh) == columns(pg_server, dev_db)
    assert table(pg_server, fresh, "SELECT version_num FROM alembic_version") == [("0002",)]


def test_two_backups_in_one_second_never_overwrite(dev_db, url_of, tmp_path):
    target = Target.from_url(url_of(dev_db))
    first, second = backup(target, tmp_path), backup(target, tmp_path)
    assert first.path != second.path and first.path.exists() and second.path.exists()


def test_a_pg_dump_older_than_the_server_is_named_with_the_package_to_install():
    with pytest.raises(HarnessError) as caught:
        client_tool("pg_dump", 99)
    message = str(caught.value)
    assert "PostgreSQL 99" in message and "99 or newer" in message and "postgresql-client-99" in message


def test_backups_are_readable_by_their_owner_only_and_ignored_by_git(pg_server, dev_db, url_of, tmp_path):
    import os
    import stat
    import subprocess

    previous = os.umask(0o022)  # the usual one: without care, files come out world-readable
    try:
        made = backup(Target.from_url(url_of(dev_db)), tmp_path / "backups")
    finally:
        os.umask(previous)
    mode = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (made.path, made.sidecar, made.path.parent)}
    assert mode == {made.path.name: 0o600, made.sidecar.name: 0o600, "backups": 0o700}
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"], cwd=tmp_path,
                            capture_output=True, text=True, check=True).stdout
    assert ".dump" not in status and ".json" not in status, status


def test_a_backup_waiting_on_a_lock_says_who_holds_it_and_gives_up_at_the_limit(pg_server, dev_db, url_of,
                                                                                 tmp_path, monkeypatch):
    from checks.recovery import watched
    from checks.recovery.backup import BackupError

    monkeypatch.setattr(watched, "LOCK_WAIT_S", 2.0)
    monkeypatch.setattr(watched, "HEARTBEAT_S", 0.5)
    said: list[str] = []
    monkeypatch.setattr(watched, "run_watched", _saying(watched.run_watched, said))
    with pg_server.connect(dev_db, autocommit=False) as holder:
        holder.execute("SET application_name = 'open shell'")
        holder.execute("LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        pid = holder.info.backend_pid
        with pytest.raises(BackupError) as caught:
            backup(Target.from_url(url_of(dev_db)), tmp_path / "backups")

    message = str(caught.value)
    assert "waited 2 s for a table's lock and gave up" in message, message
    assert f"held by pid {pid}" in message and "open shell" in message and "\n" not in message
    assert any(f"held by pid {pid}" in line for line in said), said
    assert list((tmp_path / "backups").glob("*.dump")) == []  # no empty file that looks like a backup


def _saying(run_watched, said: list[str]):
    def run(*args, **kwargs):
        return run_watched(*args, say=said.append)
    return run
