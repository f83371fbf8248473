"""Least privilege: every command works as a role with only CREATEDB, as CI service databases give.

A role short of a privilege is told which one in one line, before anything is changed.
(The harness's session handling as such a role: tests/harness/test_sessions.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_support import EXAMPLE, needs_example, run_cli
from projects import FIXTURE_DRIVER, Rev, assert_usage_error, build_project, items_revision
from roles import PASSWORD, assert_nothing_forbidden, ordinary_role, owned_databases

ALL_STAGES = ("files", "heads", "fresh", "drift", "roundtrip", "lint", "recovery")


@pytest.fixture
def role(pg_server):
    with ordinary_role(pg_server, "CREATEDB") as made:
        yield made


def _stages(*names: str) -> list[str]:
    return [arg for name in names for arg in ("--stage", name)]


def _project_log(result) -> str:
    found = re.search(r"project output \(.*\): (\S+)", result.stdout)
    return Path(found.group(1)).read_text() if found else ""


@needs_example
def test_every_stage_runs_as_a_role_with_only_createdb(pg_server, role, tmp_path):
    result = run_cli("verify", "--project", str(EXAMPLE), *_stages(*ALL_STAGES), "--url", role.url(),
                     report=tmp_path / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    assert {s["name"]: s["status"] for s in result.report["stages"]} == dict.fromkeys(ALL_STAGES, "pass")
    assert_nothing_forbidden(result.stdout, result.stderr, _project_log(result))
    assert owned_databases(pg_server, role.name) == [], "every throwaway database was dropped, without FORCE"


def test_a_role_without_createdb_is_told_what_to_grant(pg_server, tmp_path):
    project = build_project(tmp_path / "proj", [items_revision()])
    with ordinary_role(pg_server) as role:
        result = run_cli("verify", "--project", str(project), "--url", role.url(),
                         report=tmp_path / "report.json")
        assert_usage_error(result, f"the role {role.name} may not create databases",
                           f"ALTER ROLE {role.name} CREATEDB", secrets=(PASSWORD,))
        assert result.report["error"].startswith(f"the role {role.name} may not create databases")
        doctor = run_cli("doctor", "--project", str(project), "--url", role.url("postgres"),
                         "--server-url", role.url())
        assert_usage_error(doctor, "may not create databases", "CREATEDB", secrets=(PASSWORD,))


def test_extensions_a_role_may_create_and_one_it_may_not(pg_server, role, tmp_path):
    trusted = build_project(tmp_path / "trusted", [items_revision()], settings='extensions = ["pg_trgm"]\n')
    result = run_cli("verify", "--project", str(trusted), *_stages("fresh"), "--url", role.url())
    assert result.code == 0, result.stdout + result.stderr

    untrusted = build_project(tmp_path / "untrusted", [items_revision()],
                              settings='extensions = ["pg_stat_statements"]\n')
    refused = run_cli("verify", "--project", str(untrusted), *_stages("fresh"), "--url", role.url())
    assert_usage_error(refused, f"the role {role.name} may not create the extension 'pg_stat_statements'",
                       "only a superuser may", "in template1", secrets=(PASSWORD,))


NOTES_MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False),
                 sa.Column("note", sa.Text))
"""
ADD_NOTE = Rev("0002", "0001", 'op.add_column("items", sa.Column("note", sa.Text))',
               'op.drop_column("items", "note")')


def test_recovery_commands_and_doctor_run_as_that_role(pg_server, role, tmp_path):
    project = build_project(tmp_path / "proj", [items_revision(), ADD_NOTE], models=NOTES_MODELS,
                            env="database_url")
    with role.connect() as conn:
        conn.execute("CREATE DATABASE app_ci")  # the CI job's own database, owned by the role
    url, backups = role.url("app_ci"), ("--backups", str(tmp_path / "backups"))
    p = ("--project", str(project))

    def ok(*argv: str) -> str:
        result = run_cli(*argv)
        assert result.code == 0, f"{argv}: exit {result.code}\n{result.stdout}\n{result.stderr}"
        assert_nothing_forbidden(result.stdout, result.stderr)
        return result.stdout

    ok("upgrade", *p, "--url", url)
    with role.connect("app_ci") as conn:
        conn.execute("INSERT INTO items (id, name, note) VALUES (1, 'one', 'keep me')")
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
        assert conn.execute("SELECT id, name, note FROM items").fetchall() == [(1, "one", "keep me")]
    doctor_url = role.url("app_ci", driver=FIXTURE_DRIVER)
    assert "doctor: healthy" in ok("doctor", *p, "--url", doctor_url, "--server-url", role.url())
    assert "now at 0002" in ok("reset-db", *p, "--url", url, "--yes", *backups)
    assert owned_databases(pg_server, role.name) == ["app_ci"], "doctor's throwaway databases were dropped"


def test_a_session_the_role_may_not_disconnect_stops_a_restore_before_anything_is_dropped(
        pg_server, role, tmp_path):
    project = build_project(tmp_path / "proj", [items_revision()])
    with role.connect() as conn:
        conn.execute("CREATE DATABASE app_ci")
    url = role.url("app_ci")
    assert run_cli("upgrade", "--project", str(project), "--url", url).code == 0
    admin = pg_server.connect("app_ci")  # a superuser's session: the role may not cut it off
    try:
        result = run_cli("reset-db", "--project", str(project), "--url", url, "--yes",
                         "--backups", str(tmp_path / "backups"))
        assert result.code == 2, result.stdout + result.stderr
        line = result.stderr.strip()
        assert "\n" not in line and "Traceback" not in line and PASSWORD not in line
        assert f"the role {role.name} may not disconnect pid {admin.info.backend_pid}" in line
        assert admin.execute("SELECT count(*) FROM alembic_version").fetchone() == (1,), \
            "the database was dropped although a session stayed"
    finally:
        admin.close()
