"""Every recovery command, and doctor, as a role with only CREATEDB that owns its database.

What such a role may not do (disconnect a superuser's session) stops the command in one
line before anything is dropped. (Verify's stages as that role: tests/test_least_privilege.py.)
"""

from __future__ import annotations

from cli_support import run_cli
from projects import FIXTURE_DBAPI
from recovery_support import ROWS
from roles import PASSWORD, assert_nothing_forbidden, owned_databases

from checks.cli import main


def _app_database(role) -> str:
    with role.connect() as conn:
        conn.execute("CREATE DATABASE app_ci")  # the CI job's own database, owned by the role
    return "app_ci"


def test_recovery_commands_and_doctor_run_as_that_role(pg_server, role, project, tmp_path, capsys):
    url = role.url(_app_database(role))
    p, backups = ("--project", str(project)), ("--backups", str(tmp_path / "backups"))

    def ok(*argv: str) -> str:
        code = main(list(argv))  # in process: an exception here would be the traceback a user sees
        out, err = capsys.readouterr()
        assert code == 0, f"{argv}: exit {code}\n{out}\n{err}"
        assert_nothing_forbidden(out, err)
        return out

    ok("upgrade", *p, "--url", url)
    with role.connect("app_ci") as conn:
        for row in ROWS:
            conn.execute("INSERT INTO items (id, name, note) VALUES (%s, %s, %s)", row)
    assert ok("current", *p, "--url", url) == "0002 (head)\n"
    assert "is up to date" in ok("pending", *p, "--url", url)
    ok("history", *p)
    ok("heads", *p)
    dump = ok("backup", "--url", url, *backups).strip().rsplit(" ", 1)[-1]
    ok("downgrade", "0001", *p, "--url", url, "--yes", *backups)
    ok("stamp", "0002", *p, "--url", url, "--yes", *backups)
    ok("stamp", "0001", *p, "--url", url, "--yes", *backups)
    ok("upgrade", *p, "--url", url)
    ok("restore", dump, "--url", url, "--yes", *backups)
    with role.connect("app_ci") as conn:
        assert conn.execute("SELECT id, name, note FROM items ORDER BY id").fetchall() == ROWS
    # In a process of its own, as in tests/test_doctor.py: it imports the project's models.
    doctor = run_cli("doctor", *p, "--url", role.url("app_ci", driver=FIXTURE_DBAPI),
                     "--server-url", role.url())
    assert doctor.code == 0 and "doctor: healthy" in doctor.stdout, doctor.stdout + doctor.stderr
    assert_nothing_forbidden(doctor.stdout, doctor.stderr)
    assert "now at 0002" in ok("reset-db", *p, "--url", url, "--yes", *backups)
    assert owned_databases(pg_server, role.name) == ["app_ci"], "doctor's throwaway databases were dropped"


def test_a_session_the_role_may_not_disconnect_stops_a_reset_before_anything_is_dropped(
        pg_server, role, project, tmp_path, capsys):
    url = role.url(_app_database(role))
    assert main(["upgrade", "--project", str(project), "--url", url]) == 0
    admin = pg_server.connect("app_ci")  # a superuser's session: the role may not cut it off
    own = role.connect("app_ci")  # one the role could cut off: kept, since the reset cannot go ahead
    try:
        code = main(["reset-db", "--project", str(project), "--url", url, "--yes",
                     "--backups", str(tmp_path / "backups")])
        err = capsys.readouterr().err
        assert code == 2, err
        line = err.strip()
        assert "\n" not in line and PASSWORD not in line
        assert f"the role {role.name} may not disconnect pid {admin.info.backend_pid}" in line
        assert admin.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,), \
            "the database was dropped although a session stayed"
        assert own.execute("SELECT 1").fetchone() == (1,), "a session was cut off for nothing"
    finally:
        admin.close()
        own.close()


def test_a_missing_privilege_in_stamp_or_reset_db_is_one_line_naming_the_grant(
        pg_server, role, project, tmp_path, capsys):
    """The database is someone else's: the role may read and write its rows but neither
    change the version table's owner-only parts nor drop the database."""
    with pg_server.connect() as conn:
        conn.execute("DROP DATABASE IF EXISTS app_theirs")
        conn.execute("CREATE DATABASE app_theirs")
    try:
        assert main(["upgrade", "--project", str(project), "--url", pg_server.url("app_theirs")
                     .render_as_string(hide_password=False)]) == 0
        with pg_server.connect("app_theirs") as conn:
            conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role.name}")
        capsys.readouterr()
        # Short of a sequence, the backup every stamp takes first says which grant it needs.
        assert main(["backup", "--url", role.url("app_theirs"), "--backups", str(tmp_path)]) == 1
        [line] = [text for text in capsys.readouterr().err.splitlines() if text.strip()]
        assert f"GRANT SELECT ON SEQUENCE items_id_seq TO {role.name}" in line, line
        with pg_server.connect("app_theirs") as conn:
            conn.execute(f"GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO {role.name}")
        url, p, backups = role.url("app_theirs"), ("--project", str(project)), ("--backups", str(tmp_path))
        writes = "GRANT SELECT, INSERT, UPDATE, DELETE ON alembic_version"
        for argv, grant in ((["stamp", "0001", *p, "--url", url, "--yes", *backups], writes),
                            (["reset-db", *p, "--url", url, "--yes", *backups], "owner")):
            code = main(argv)
            out, err = capsys.readouterr()
            lines = [line for line in err.splitlines() if line.strip()]
            assert code in (1, 2) and len(lines) == 1, f"{argv[0]}: exit {code}\n{out}\n{err}"
            assert grant in lines[0] and role.name in lines[0] and "Traceback" not in err, lines[0]
    finally:
        with pg_server.connect() as conn:
            conn.execute("DROP DATABASE IF EXISTS app_theirs WITH (FORCE)")
