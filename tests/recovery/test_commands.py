"""Each recovery command on a real database; the destructive ones leave a backup, taken
before they changed anything, that restores to exactly what was there."""

from __future__ import annotations

import json

import pytest
from recovery_support import ROWS, backup_path, columns, table

from checks.cli import main
from checks.recovery.backup import restore
from checks.recovery.target import Target


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def restored_copy(pg_server, make_database, url_of, path) -> str:
    """Restore a backup into a database of its own; returns its name."""
    fresh = make_database("check")
    restore(path, Target.from_url(url_of(fresh)))
    return fresh


def test_current_history_heads_pending(capsys, pg_server, make_database, project, url_of):
    name = make_database("app_dev")
    url = url_of(name)
    p = ("--project", str(project))
    assert run(capsys, "current", *p, "--url", url)[1].startswith(f"current: {name} on ")
    assert run(capsys, "history", *p)[1].splitlines() == ["0001 -> 0002 (head), A fixture revision.",
                                                          "<base> -> 0001, A fixture revision."]
    assert run(capsys, "heads", *p)[1].splitlines() == ["0001 -> 0002 (head), A fixture revision."]
    code, out, _ = run(capsys, "pending", *p, "--url", url)
    assert code == 0 and [line.split(",")[0] for line in out.splitlines()] == ["<base> -> 0001",
                                                                               "0001 -> 0002 (head)"]
    assert run(capsys, "upgrade", "0001", *p, "--url", url)[0] == 0
    assert run(capsys, "current", *p, "--url", url)[1] == "0001\n"
    assert run(capsys, "pending", *p, "--url", url)[1].startswith("0001 -> 0002 (head)")
    code, out, _ = run(capsys, "upgrade", *p, "--url", url)
    assert code == 0 and out.endswith("applied 0002; " f"{name} on {pg_server.endpoint.host}:"
                                      f"{pg_server.endpoint.port} is now at 0002\n")
    assert run(capsys, "current", *p, "--url", url)[1] == "0002 (head)\n"
    assert "is up to date" in run(capsys, "pending", *p, "--url", url)[1]


def test_downgrade_backs_up_the_dropped_column_first(capsys, pg_server, make_database, project, dev_db,
                                                     url_of, tmp_path):
    code, out, err = run(capsys, "downgrade", "0001", "--project", str(project), "--url", url_of(dev_db),
                         "--yes", "--backups", str(tmp_path / "b"))
    assert code == 0, err
    assert "reverted 0002" in out and table(pg_server, dev_db, "SELECT version_num FROM alembic_version") \
        == [("0001",)]
    assert "note" not in {c[1] for c in columns(pg_server, dev_db)}, "the downgrade dropped the column"
    path = backup_path(out)
    assert json.loads(path.with_suffix(".json").read_text())["revisions"] == ["0002"]
    copy = restored_copy(pg_server, make_database, url_of, path)
    assert table(pg_server, copy) == ROWS, "the backup holds the column's data from before the downgrade"


def test_stamp_backs_up_then_rewrites_only_the_version_table(capsys, pg_server, make_database, project,
                                                             dev_db, url_of, tmp_path):
    code, out, err = run(capsys, "stamp", "0001", "--project", str(project), "--url", url_of(dev_db),
                         "--yes", "--backups", str(tmp_path))
    assert code == 0, err
    assert "was at 0002, is now at 0001" in out
    assert table(pg_server, dev_db) == ROWS, "stamp runs no migration"
    copy = restored_copy(pg_server, make_database, url_of, backup_path(out))
    assert table(pg_server, copy, "SELECT version_num FROM alembic_version") == [("0002",)]


def test_stamp_of_an_unknown_revision_changes_nothing_and_backs_up_nothing(capsys, project, dev_db,
                                                                          url_of, tmp_path):
    code, _out, err = run(capsys, "stamp", "ffff", "--project", str(project), "--url", url_of(dev_db),
                          "--yes", "--backups", str(tmp_path / "b"))
    assert code == 2 and "ffff" in err and "invoke history" in err
    assert not (tmp_path / "b").exists()


def test_restore_backs_up_the_target_first(capsys, pg_server, make_database, dev_db, url_of, tmp_path):
    url = url_of(dev_db)
    code, out, _ = run(capsys, "backup", "--url", url, "--backups", str(tmp_path / "b"))
    assert code == 0
    saved = out.strip().rsplit(" -> ", 1)[1]
    with pg_server.connect(dev_db) as conn:
        conn.execute("DELETE FROM items WHERE id = 1; INSERT INTO items VALUES (9, 'after', NULL)")
    after = table(pg_server, dev_db)

    code, out, err = run(capsys, "restore", saved, "--url", url, "--yes", "--backups", str(tmp_path / "b"))
    assert code == 0, err
    assert table(pg_server, dev_db) == ROWS
    undo = backup_path(out)
    assert undo != saved
    assert table(pg_server, restored_copy(pg_server, make_database, url_of, undo)) == after


def test_reset_db_leaves_a_backup_that_restores(capsys, pg_server, make_database, project, dev_db, url_of,
                                               tmp_path):
    with pg_server.connect(dev_db) as conn:
        conn.execute("CREATE TABLE made_by_hand (id int); INSERT INTO made_by_hand VALUES (7)")
    before = columns(pg_server, dev_db)
    code, out, err = run(capsys, "reset-db", "--project", str(project), "--url", url_of(dev_db), "--yes",
                         "--backups", str(tmp_path))
    assert code == 0, err
    assert "now at 0002" in out
    assert table(pg_server, dev_db) == [] and "made_by_hand" not in {c[0] for c in columns(pg_server, dev_db)}
    copy = restored_copy(pg_server, make_database, url_of, backup_path(out))
    assert columns(pg_server, copy) == before
    assert table(pg_server, copy) == ROWS
    assert table(pg_server, copy, "SELECT * FROM made_by_hand") == [(7,)]


def test_reset_db_names_who_else_is_connected_before_dropping(capsys, pg_server, project, dev_db, url_of,
                                                             tmp_path):
    other = pg_server.connect(dev_db)
    pid = other.info.backend_pid
    try:
        code, out, err = run(capsys, "reset-db", "--project", str(project), "--url", url_of(dev_db), "--yes",
                             "--backups", str(tmp_path))
    finally:
        other.close()
    assert code == 0, err
    assert "1 other session(s) are connected" in out and f"pid {pid}" in out
    assert out.index(f"pid {pid}") < out.index("rebuilt")


def test_psql_runs_against_the_target_with_a_matching_client(capfd, dev_db, url_of):
    assert main(["psql", "--url", url_of(dev_db), "--command", "SELECT count(*) FROM items"]) == 0
    out, _ = capfd.readouterr()
    assert " 3\n" in out and "verify" not in out.split("count")[0]


@pytest.mark.parametrize("database", ["postgres", "template1"])
def test_the_system_databases_are_never_reset(capsys, project, pg_server, database):
    url = pg_server.url(database).render_as_string(hide_password=False)
    code, _, err = run(capsys, "reset-db", "--project", str(project), "--url", url, "--yes")
    assert code == 2 and "system database" in err


def test_a_file_that_is_no_backup_changes_nothing(capsys, pg_server, dev_db, url_of, tmp_path):
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"not a dump at all")
    code, out, err = run(capsys, "restore", str(broken), "--url", url_of(dev_db), "--yes",
                         "--backups", str(tmp_path / "b"))
    assert code == 1 and "is not a backup pg_restore" in err and "nothing was changed" in err
    assert table(pg_server, dev_db) == ROWS and not (tmp_path / "b").exists()
    ep = pg_server.endpoint
    assert out == f"restore: {dev_db} on {ep.host}:{ep.port} (URL from --url)\n", "only the database it named"


def test_stamp_over_a_revision_no_file_has_replaces_it(capsys, pg_server, project, dev_db, url_of, tmp_path):
    # The "Can't locate revision identified by" incident: Alembic cannot step from the row.
    with pg_server.connect(dev_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'deadbeef'")
    code, out, err = run(capsys, "stamp", "0002", "--project", str(project), "--url", url_of(dev_db),
                         "--yes", "--backups", str(tmp_path))
    assert code == 0, err
    assert table(pg_server, dev_db, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert table(pg_server, dev_db) == ROWS
