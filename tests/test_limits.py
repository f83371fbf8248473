"""Time limits: a revision that waits (on a lock, in pg_sleep, in its own Python code) is
ended at its limit and named with what it waited for, instead of a silent run that CI kills.

The lock is taken by a second session the revision itself opens: every stage runs on a
fresh database the run creates, so nothing outside the run can know its name in advance.
"""

from __future__ import annotations

import pytest
from projects import ENVS, Rev, assert_usage_error, build_project, items_revision, per_migration_env

from checks.project.limits import Limits
from checks.project.settings import Settings

# Revision 0002 opens a session of its own that creates a table, locks it in an open
# transaction and stays connected; the migration's ALTER then waits behind that lock.
LOCKED_BY_ANOTHER_SESSION = """\
import os
import psycopg
url = op.get_bind().engine.url
holder = psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                         dbname=url.database, application_name="fixture lock holder")
holder.autocommit = True
holder.execute("CREATE TABLE busy (id integer)")
holder.autocommit = False
holder.execute("LOCK TABLE busy IN ACCESS EXCLUSIVE MODE")
with open(os.environ["HOLDER_PID_FILE"], "w") as pid_file:
    pid_file.write(str(holder.info.backend_pid))
globals()["HOLDER"] = holder  # stays open until the run drops the database
op.execute("ALTER TABLE busy ADD COLUMN note text")
"""


def _databases(pg_server) -> set[str]:
    with pg_server.connect() as conn:
        return {name for (name,) in conn.execute("SELECT datname FROM pg_database")}


def _project(tmp_path, upgrade: str, settings: str | None = None, env: str = "sync_template"):
    revisions = [items_revision(), Rev("0002", "0001", upgrade, file="0002_slow.py")]
    return build_project(tmp_path / "project", revisions, settings=settings, env=env)


# env.py with an engine of its own, on the suite's shared connection, and async: the session
# to cancel is whichever one env.py hands to context.configure.
ENV_SHAPES = ["sync_template", "connection", "async_template"]


@pytest.fixture
def holder_pid_file(tmp_path):
    return tmp_path / "holder.pid"


def _assert_ended(result, fragments: tuple[str, ...]) -> dict:
    """Exit 1, fresh failed on 0002 with these words, no traceback."""
    assert result.code == 1, f"exit {result.code}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    [finding] = result.findings("fresh", "upgrade-failed")
    assert finding["revision"] == "0002"
    assert finding["file"].endswith("0002_slow.py") and finding["line"], finding
    for fragment in fragments:
        assert fragment in finding["message"], f"{fragment!r} not in {finding['message']!r}"
    return finding


def test_a_revision_waiting_on_a_lock_is_ended_naming_the_holder(verify, pg_server, tmp_path,
                                                                 holder_pid_file):
    project = _project(tmp_path, LOCKED_BY_ANOTHER_SESSION)
    before = _databases(pg_server)
    result = verify(project, "--revision-timeout", "3", env={"HOLDER_PID_FILE": str(holder_pid_file)})

    pid = holder_pid_file.read_text()
    finding = _assert_ended(result, (
        "3 s revision limit", "AccessExclusiveLock on table busy", f"pid {pid}", "fixture lock holder",
        "idle in transaction", "LOCK TABLE busy IN ACCESS EXCLUSIVE MODE"))
    # The line the revision was stuck on: the ALTER, the last line of upgrade().
    source = (project / "migrations" / "versions" / "0002_slow.py").read_text().splitlines()
    assert "ALTER TABLE busy" in source[finding["line"] - 1]
    assert "lock_timeout" in finding["hint"]
    # The console said so while it waited, before the limit struck.
    heartbeat = [line for line in result.stderr.splitlines() if "has run for" in line]
    assert heartbeat and "upgrade of 0002 (0002_slow.py line" in heartbeat[0], result.stderr
    assert f"held by pid {pid}" in heartbeat[0]
    assert result.stage("drift")["status"] == "skip"
    assert _databases(pg_server) == before


# env.py waits before it hands Alembic a connection: on an advisory lock a second session of
# its own holds (the example's env.py takes one to keep two deploys apart), or in Python.
_CONNECTS = "    with connectable.connect() as connection:\n"
ENV_WAITS = (ENVS / "sync_template.py").read_text().replace(_CONNECTS, (
    "    holder = connectable.connect()\n"
    "    holder.exec_driver_sql('SELECT pg_advisory_lock(4242)')\n"
    "    globals()['HOLDER'] = holder\n" + _CONNECTS
    + "        connection.exec_driver_sql('SELECT pg_advisory_lock(4242)')\n"))
ENV_SLEEPS = (ENVS / "sync_template.py").read_text().replace(
    _CONNECTS, "    import time\n    time.sleep(60)\n" + _CONNECTS)


@pytest.mark.parametrize(("env_py", "fragments"), [
    (ENV_WAITS, ("waiting for advisory lock 4242 held by pid", "SELECT pg_advisory_lock(4242)")),
    (ENV_SLEEPS, ("no session of its database was waiting, so the time went to Python code",
                  "before context.configure()")),
], ids=["lock", "python"])
def test_env_py_waiting_before_any_revision_is_ended_at_the_limit_and_named(verify, tmp_path, env_py,
                                                                            fragments):
    project = build_project(tmp_path / "project", [items_revision()], files={"migrations/env.py": env_py})
    result = verify(project, "--stage", "fresh", "--revision-timeout", "2")

    assert result.code == 2 and "Traceback" not in result.stderr, result.stdout + result.stderr
    [line] = [text for text in result.stderr.splitlines() if text.startswith("error: ")]
    assert "env.py, before any revision, did not finish within the 2 s revision limit" in line, line
    for fragment in fragments:
        assert fragment in line, line
    assert "0001" not in line
    # The console said what waited while it waited, before the limit struck.
    heartbeat = [text for text in result.stderr.splitlines() if "has run for" in text]
    assert heartbeat and "env.py, before any revision" in heartbeat[0], result.stderr


@pytest.mark.parametrize("env", ENV_SHAPES)
def test_a_long_statement_is_cancelled_at_the_limit(verify, tmp_path, env):
    project = _project(tmp_path, 'op.execute("SELECT pg_sleep(60)")', env=env)
    result = verify(project, "--revision-timeout", "2")

    finding = _assert_ended(result, ("2 s revision limit", "running SELECT pg_sleep(60)"))
    assert "raise --revision-timeout" in finding["hint"]


@pytest.mark.parametrize("env", ["sync_template", "async_template"])
def test_python_code_that_never_returns_is_interrupted_at_the_limit(verify, tmp_path, env):
    # No statement runs: the database cannot cancel anything, the suite interrupts the revision.
    result = verify(_project(tmp_path, "import time\ntime.sleep(60)", env=env), "--revision-timeout", "2")

    _assert_ended(result, ("2 s revision limit", "the revision's Python code"))
    # The lint stage runs upgrade() offline: the limit ends it there too.
    assert any("0002" in f["message"] and "2 s revision limit" in f["message"]
               for f in result.findings("lint", "offline-unsupported")), result.findings("lint")


def test_the_run_limit_ends_the_revision_and_the_stages_after_it(verify, tmp_path):
    result = verify(_project(tmp_path, 'op.execute("SELECT pg_sleep(60)")'), "--run-timeout", "2")

    _assert_ended(result, ("run's 2 s limit",))
    for stage in ("drift", "roundtrip", "lint"):
        assert [f["code"] for f in result.findings(stage)] == ["run-timeout"], stage
        assert result.stage(stage)["status"] == "error"


def test_lock_timeout_from_the_settings_applies_to_the_migration(verify, tmp_path, holder_pid_file):
    project = _project(tmp_path, LOCKED_BY_ANOTHER_SESSION, settings='lock_timeout = "1s"\n')
    result = verify(project, env={"HOLDER_PID_FILE": str(holder_pid_file)})

    _assert_ended(result, ("canceling statement due to lock timeout",))


def test_statement_timeout_from_the_settings_applies_to_the_migration(verify, tmp_path):
    project = _project(tmp_path, 'op.execute("SELECT pg_sleep(60)")',
                       settings='statement_timeout = "500ms"\n')
    result = verify(project)

    _assert_ended(result, ("canceling statement due to statement timeout",))


SECONDS = "must be a number of seconds, 0 or more"


@pytest.mark.parametrize(("settings", "args", "fragment"), [
    ('revision_timeout = "soon"\n', (), f"revision_timeout {SECONDS} (0 for no limit), not 'soon'"),
    ('lock_timeout = "a fortnight"\n', (), "lock_timeout must be a PostgreSQL duration"),
    (None, ("--run-timeout", "-1"), f"--run-timeout {SECONDS} (0 for no limit), not -1"),
    (None, ("--revision-timeout", "-5"), f"--revision-timeout {SECONDS} (0 for no limit), not -5"),
    # nan and inf are floats to argparse and to TOML; either would switch the limit off
    (None, ("--revision-timeout", "nan"), f"--revision-timeout {SECONDS} (0 for no limit), not nan"),
    (None, ("--run-timeout", "inf"), f"--run-timeout {SECONDS} (0 for no limit), not inf"),
    ("revision_timeout = nan\n", (), f"revision_timeout {SECONDS} (0 for no limit), not nan"),
    ("run_timeout = -inf\n", (), f"run_timeout {SECONDS} (0 for no limit), not -inf"),
])
def test_bad_limits_are_one_line_errors(verify, tmp_path, settings, args, fragment):
    result = verify(build_project(tmp_path / "project", [items_revision()], settings=settings), *args)

    assert_usage_error(result, fragment)


def test_the_command_line_overrides_the_settings_and_the_run_limit_cuts_the_revision_limit():
    settings = Settings(revision_timeout=60, run_timeout=0, lock_timeout=" 2s ", source="pyproject.toml")
    assert Limits.configure(settings).revision_limit()[0] == 60
    assert Limits.configure(settings, revision_timeout=0).revision_limit() == (None, "")
    assert Limits.configure(settings).session_settings() == {"lock_timeout": "2s"}
    limit, name = Limits.configure(settings, run_timeout=30).revision_limit()
    assert limit <= 30 and "run's 30 s limit" in name


# Revision 0002 alters items (committed by 0001: a transaction per revision) in the migration's
# transaction, then reads it on a connection of its own (an app session, a new engine): that
# read waits for the migration, which waits for it.
WAITS_FOR_ITSELF = """\
import psycopg
op.add_column("items", sa.Column("price", sa.Integer))
url = op.get_bind().engine.url
with psycopg.connect(host=url.host, port=url.port, user=url.username, password=url.password,
                     dbname=url.database, application_name="app session") as own:
    own.execute("SELECT count(*) FROM items")
"""


def test_a_revision_waiting_for_its_own_migrations_lock_is_named_as_that(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision(), Rev("0002", "0001", WAITS_FOR_ITSELF,
                                                                        file="0002_slow.py")],
                            files={"migrations/env.py": per_migration_env()})
    result = verify(project, "--stage", "fresh", "--revision-timeout", "2")

    finding = _assert_ended(result, ("2 s revision limit", "a connection of the revision's own",
                                     "(app session)", "AccessShareLock on table items",
                                     "the migration's own transaction holds"))
    assert "op.get_bind()" in finding["hint"], finding
