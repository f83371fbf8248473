"""One database per task: every command resolves its URL in the same order (--url, then
DATABASE_URL, then alembic.ini's sqlalchemy.url) and names the database first, with where
its URL came from, and never the password."""

from __future__ import annotations

import json

from recovery_support import table

from checks.cli import main


def _point_ini_at(project, url: str) -> None:
    ini = project / "alembic.ini"
    line = next(line for line in ini.read_text().splitlines() if line.startswith("sqlalchemy.url"))
    ini.write_text(ini.read_text().replace(line, f"sqlalchemy.url = {url.replace('%', '%%')}"))


def test_doctor_and_stamp_act_on_the_same_database(capsys, monkeypatch, pg_server, make_database, project,
                                                   dev_db, url_of, tmp_path):
    # alembic.ini names another database; DATABASE_URL names the developer's.
    other = make_database("other")
    _point_ini_at(project, url_of(other))
    monkeypatch.setenv("DATABASE_URL", url_of(dev_db))
    with pg_server.connect(dev_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'feedbeef0042'")
    server = url_of(pg_server.endpoint.maintenance_db)

    code = main(["doctor", "--project", str(project), "--server-url", server,
                 "--report-json", str(tmp_path / "d.json")])
    out = capsys.readouterr().out
    report = json.loads((tmp_path / "d.json").read_text())
    assert code == 1 and report["database_source"] == "DATABASE_URL", out
    assert report["database"].endswith(f"/{dev_db}")
    where = f"{dev_db} on {pg_server.endpoint.host}:{pg_server.endpoint.port} (URL from DATABASE_URL)"
    assert out.splitlines()[0].startswith(f"doctor: {where}"), out

    code = main(["stamp", "0002", "--project", str(project), "--yes", "--backups", str(tmp_path / "b")])
    out = capsys.readouterr().out
    assert code == 0 and out.splitlines()[0] == f"stamp: {where}", out
    assert table(pg_server, dev_db, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert table(pg_server, other, "SELECT count(*) FROM pg_tables WHERE tablename = 'alembic_version'") \
        == [(0,)], "the database alembic.ini names was not touched"


def test_every_task_names_its_database_first(capsys, monkeypatch, pg_server, make_database, project, dev_db,
                                             url_of, tmp_path):
    monkeypatch.setenv("DATABASE_URL", url_of(dev_db))
    ep = pg_server.endpoint
    first = f"{dev_db} on {ep.host}:{ep.port} (URL from DATABASE_URL)"
    p, b = ("--project", str(project)), ("--backups", str(tmp_path / "b"))
    assert main(["backup", *b]) == 0
    saved = capsys.readouterr().out.strip().rsplit(" -> ", 1)[1]
    tasks = {"current": [*p], "pending": [*p], "upgrade": [*p], "psql": ["--command", "SELECT 1"],
             "stamp": ["0002", *p, "--yes", *b], "downgrade": ["0001", *p, "--yes", *b],
             "backup": [*b], "restore": [saved, "--yes", *b], "reset-db": [*p, "--yes", *b]}
    for task, args in tasks.items():
        code = main([task, *args])
        out, err = capsys.readouterr()
        # Where stdout is data for scripts (a revision, a list, psql's output), the line is on stderr.
        shown = err if task in ("current", "pending", "psql") else out
        assert code == 0, f"{task}: {out}{err}"
        assert shown.splitlines()[0] == f"{task}: {first}", f"{task}:\n{out}{err}"
        assert f":{ep.password}@" not in out + err

    # Without DATABASE_URL, alembic.ini's URL; the line says so.
    monkeypatch.delenv("DATABASE_URL")
    _point_ini_at(project, url_of(dev_db))
    assert main(["current", *p]) == 0
    # (On SQLAlchemy 1.4 a note on the ini's psycopg driver may come before it.)
    named = [line for line in capsys.readouterr().err.splitlines() if line.startswith("current: ")]
    assert named[:1] == [f"current: {dev_db} on {ep.host}:{ep.port} (URL from sqlalchemy.url in alembic.ini)"]
