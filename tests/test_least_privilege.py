"""Least privilege: verify works as a role with only CREATEDB, as CI service databases give.

A role short of a privilege is told which one in one line, before anything is changed.
(The harness's session handling as such a role: tests/harness/test_sessions.py; the
recovery commands and doctor: tests/recovery/test_ordinary_role.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

from cli_support import EXAMPLE, needs_example, run_cli
from projects import Rev, assert_usage_error, build_project, items_revision
from roles import PASSWORD, assert_nothing_forbidden, ordinary_role, owned_databases

ALL_STAGES = ("files", "heads", "fresh", "merge-order", "drift", "roundtrip", "lint", "recovery", "rehearse")


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


# A revision that opens a session of another role in the database it migrates, and leaves it
# there (a monitoring agent, an IDE or a script doing the same behaves alike).
JOINS_AS_ANOTHER_ROLE = """\
import os
import psycopg
globals()["SOMEONE"] = psycopg.connect(
    host=os.environ["OTHER_HOST"], port=os.environ["OTHER_PORT"], user=os.environ["OTHER_USER"],
    password=os.environ["OTHER_PASSWORD"], dbname=op.get_bind().engine.url.database,
    application_name="someone else")
"""


def test_another_roles_session_in_a_run_database_fails_the_run_naming_it(pg_server, role, tmp_path):
    joins = Rev("0002", "0001", JOINS_AS_ANOTHER_ROLE)
    project = build_project(tmp_path / "project", [items_revision(), joins])
    env = {"OTHER_HOST": role.host, "OTHER_PORT": str(role.port), "OTHER_USER": role.name,
           "OTHER_PASSWORD": PASSWORD}
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    before = _database_names(pg_server)
    try:
        result = run_cli("verify", "--project", str(project), "--stage", "fresh", "--stage", "roundtrip",
                         url=url, report=tmp_path / "report.json", env=env)
    finally:
        # The run could not drop the database that session held: gone here, not at a later
        # test's start (where a run sweeps what killed runs left).
        with pg_server.connect() as conn:
            for name in _database_names(pg_server) - before:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    assert result.code == 1, f"exit {result.code}\n{result.stdout}\n{result.stderr}"
    found = [f for stage in ("fresh", "roundtrip") for f in result.findings(stage)]
    in_use = [f for f in found if f["code"] == "database-in-use"]
    assert in_use and f"user {role.name}" in in_use[0]["message"], found
    assert "application someone else" in in_use[0]["message"]
    assert not [f for f in found if f["code"] in ("stage-crashed", "project-error")], found
    assert PASSWORD not in result.stdout + result.stderr


def _database_names(server) -> set[str]:
    with server.connect() as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database")}


def test_grants_as_a_role_with_only_createdb(pg_server, role, tmp_path):
    # The role owns everything it builds, reads full snapshots (no event triggers), and its
    # own privileges on what it owns are no grant: only what the revision gives PUBLIC is.
    grant = ('op.execute("GRANT SELECT ON items TO PUBLIC")\n'
             'op.execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC")')
    revoke = ('op.execute("ALTER DEFAULT PRIVILEGES REVOKE SELECT ON TABLES FROM PUBLIC")\n'
              'op.execute("REVOKE SELECT ON items FROM PUBLIC")')
    left = ["grant SELECT on table items to PUBLIC",
            f"default privilege: grant SELECT on tables created by {role.name} to PUBLIC"]
    for downgrade, found in ((revoke, []), ("pass", left)):
        revisions = [items_revision(), Rev("0002", "0001", grant, downgrade)]
        project = build_project(tmp_path / f"p{len(found)}", revisions)
        result = run_cli("verify", "--project", str(project), *_stages("fresh", "drift", "roundtrip"),
                         "--url", role.url(), report=tmp_path / "report.json")
        assert result.stage("drift")["status"] == "pass", result.stdout
        traces = [f["object"] for f in result.findings("roundtrip") if f["code"] == "downgrade-leaves-trace"]
        assert sorted(traces) == sorted(found), result.stdout
        assert result.code == (1 if found else 0), result.stdout + result.stderr
