"""verify with the project in its own Python (--python, or the python setting): the revisions,
env.py and the hooks run in the project's virtual environment, on the oldest stack the suite
supports there, and the revision stages find what they find in-process. Nothing is installed
into that environment, and nothing in it changes."""

from __future__ import annotations

import sqlite3
import subprocess
import time
import venv
from contextlib import closing
from pathlib import Path

import pytest
from projects import ITEMS_MODELS, Rev, assert_usage_error, build_project, items_revision, per_migration_env
from test_agent_old_stack import everything_in, pip_freeze
from test_real_world_projects import CATCHES_ITS_ERROR, FLASK_WSGI, flask_project

from projectside import floor

REVISION_STAGES = ("files", "heads", "fresh", "drift", "roundtrip")
PRICE_UP = 'op.add_column("items", sa.Column("price", sa.Integer))'
PRICE_DOWN = 'op.drop_column("items", "price")'


def _project(tmp_path, upgrade: str = PRICE_UP, downgrade: str = PRICE_DOWN, **kwargs):
    return build_project(tmp_path / "project", [items_revision(), Rev("0002", "0001", upgrade, downgrade)],
                         **kwargs)


def _no_traceback(result) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.stderr


def test_a_clean_history_passes_and_the_projects_environment_is_left_as_it_was(verify, tmp_path, old_python):
    environment = old_python.parent.parent
    before, frozen = everything_in(environment), pip_freeze(old_python)
    # The bootstrap hook runs there too: the history needs the schema it creates.
    notes = 'op.create_table("notes", sa.Column("id", sa.Integer), schema="extra")'
    # (A schema env.py's autogenerate does not look at: include_schemas is off.)
    project = _project(tmp_path, upgrade=notes,
                       downgrade='op.drop_table("notes", schema="extra")',
                       settings='bootstrap = "app.boot:run"\n',
                       files={"app/boot.py": "def run(connection):\n"
                                             "    connection.execute('CREATE SCHEMA extra')\n"})

    result = verify(project, "--python", str(old_python))

    assert result.code == 0, result.stdout + result.stderr
    _no_traceback(result)
    for stage in (*REVISION_STAGES, "lint"):
        assert result.stage(stage)["status"] == "pass", result.stage(stage)
    assert pip_freeze(old_python) == frozen
    assert everything_in(environment) == before


def test_a_downgrade_that_leaves_a_column_is_named(verify, tmp_path, old_python):
    result = verify(_project(tmp_path, downgrade="pass"), "--python", str(old_python.parent.parent))

    assert result.code == 1, result.stdout + result.stderr
    [trace] = result.findings("roundtrip", "downgrade-leaves-trace")
    assert trace["revision"] == "0002" and trace["object"] == "items.price", trace
    assert result.stage("fresh")["status"] == "pass"


def test_models_the_migrations_do_not_build_are_drift(verify, tmp_path, old_python):
    # The models (in the project's Python) declare a column and a server default no revision has.
    models = ITEMS_MODELS.replace('sa.Column("id", sa.Integer, primary_key=True),',
                                  'sa.Column("id", sa.Integer, primary_key=True),\n'
                                  '                 sa.Column("stock", sa.Integer, server_default="0"),')
    assert models != ITEMS_MODELS
    project = build_project(tmp_path / "project", [items_revision()], models=models)

    result = verify(project, "--python", str(old_python), "--stage", "drift")

    assert result.code == 1, result.stdout + result.stderr
    [added] = result.findings("drift", "drift-autogenerate")
    assert added["object"] == "items.stock" and "no migration adds it" in added["message"], added
    assert added["revision"] == "0001"


def test_locks_rewrites_and_scans_are_measured_in_the_projects_process(verify, tmp_path, old_python):
    revisions = [items_revision(),
                 Rev("0002", "0001", 'op.alter_column("items", "id", type_=sa.BigInteger)',
                     'op.alter_column("items", "id", type_=sa.Integer)'),
                 Rev("0003", "0002", 'op.create_index("ix_name", "items", ["name"])',
                     'op.drop_index("ix_name", table_name="items")')]
    project = build_project(tmp_path / "project", revisions, files={"migrations/env.py": per_migration_env()})

    result = verify(project, "--python", str(old_python), "--stage", "fresh")

    assert result.code == 0, result.stdout + result.stderr
    [rewrite] = result.findings("fresh", "deploy-rewrite")
    assert rewrite["revision"] == "0002" and "ACCESS EXCLUSIVE on public.items" in rewrite["message"]
    [scan] = result.findings("fresh", "deploy-scan")
    assert scan["revision"] == "0003" and "SHARE on public.items" in scan["message"]


def test_a_failing_upgrade_names_the_revision_the_database_error_and_the_line(verify, tmp_path, old_python):
    project = _project(tmp_path, upgrade='x = 1\nop.execute("SELECT * FROM nowhere")')

    result = verify(project, "--python", str(old_python), "--stage", "fresh")

    assert result.code == 1, result.stdout + result.stderr
    [failed] = result.findings("fresh", "upgrade-failed")
    assert failed["revision"] == "0002"
    assert 'relation "nowhere" does not exist' in failed["message"]
    source = (project / "migrations" / "versions" / "0002_revision.py").read_text().splitlines()
    assert failed["line"] and "nowhere" in source[failed["line"] - 1], failed


def test_an_error_a_revision_caught_is_named_as_the_cause_of_the_next(verify, tmp_path, old_python):
    project = build_project(tmp_path / "project", [items_revision(), CATCHES_ITS_ERROR])

    result = verify(project, "--python", str(old_python), "--stage", "fresh")

    assert result.code == 1, result.stdout + result.stderr
    [failed] = result.findings("fresh", "upgrade-failed")
    assert failed["revision"] == "0002" and "current transaction is aborted" in failed["message"], failed
    assert "its code caught the error" in failed["hint"]


def test_python_code_past_its_limit_is_ended_in_the_projects_process(verify, tmp_path, old_python):
    project = _project(tmp_path, upgrade="import time\ntime.sleep(60)")

    started = time.monotonic()
    result = verify(project, "--python", str(old_python), "--stage", "fresh", "--revision-timeout", "2")

    assert time.monotonic() - started < 40  # not the revision's 60 s
    assert result.code == 1, result.stdout + result.stderr
    _no_traceback(result)
    [failed] = result.findings("fresh", "upgrade-failed")
    assert failed["revision"] == "0002"
    assert "2 s revision limit" in failed["message"] and "the revision's Python code" in failed["message"]


def test_the_python_setting_names_the_environment_relative_to_the_project(verify, tmp_path, old_python):
    # The revision itself tells where it runs: only the project's Python has SQLAlchemy 1.3.
    where = f'import sqlalchemy\nassert sqlalchemy.__version__ == "1.3.24"\n{PRICE_UP}'
    project = _project(tmp_path, upgrade=where, settings=f'python = "{old_python.parent.parent}"\n')

    result = verify(project, "--stage", "fresh")

    assert result.code == 0, result.stdout + result.stderr
    assert result.stage("fresh")["status"] == "pass"


def test_the_projects_venv_folder_or_the_active_environment_is_found(verify, tmp_path, old_python):
    where = f'import sqlalchemy\nassert sqlalchemy.__version__ == "1.3.24"\n{PRICE_UP}'
    project = _project(tmp_path, upgrade=where)
    (project / ".venv").symlink_to(old_python.parent.parent, target_is_directory=True)

    found = verify(project, "--stage", "fresh", env={"VIRTUAL_ENV": ""})
    assert found.code == 0, found.stdout + found.stderr
    assert f"python: {project / '.venv' / 'bin' / 'python'} (.venv): Python" in found.stdout
    assert "SQLAlchemy 1.3.24, Alembic 1.5.8" in found.stdout

    (project / ".venv").unlink()
    active = verify(project, "--stage", "fresh", env={"VIRTUAL_ENV": str(old_python.parent.parent)})
    assert active.code == 0, active.stdout + active.stderr
    assert "($VIRTUAL_ENV)" in active.stdout


def test_the_recovery_drills_run_in_the_projects_python(verify, tmp_path, old_python):
    result = verify(_project(tmp_path), "--python", str(old_python), "--stage", "recovery")

    _no_traceback(result)
    codes = {finding["code"] for finding in result.findings("recovery")}
    for drill in ("drill-unknown-revision", "drill-behind", "drill-backup-restore",
                  "drill-history-under-data", "drill-failed-migration"):
        assert drill in codes, result.findings("recovery")
    # Three instances booting at once, each its own process of the project's Python, ran
    # `upgrade heads` there (whether they collided is up to the scheduler: this env.py takes
    # no lock).
    startup = [f for f in result.findings("recovery") if "startup" in f["code"]]
    assert startup and all(f["code"] != "drill-startup-not-run" for f in startup), startup
    assert all("3 instances" in f["message"] for f in startup), startup


def test_a_python_that_is_not_one_is_a_one_line_error(verify, tmp_path):
    result = verify(_project(tmp_path), "--python", str(tmp_path / "missing" / "python"))

    assert result.code == 2
    _no_traceback(result)
    assert "--python" in result.stderr and "is not a Python interpreter" in result.stderr


# microblog's shape: the app reads DATABASE_URL when it is created, and falls back to a
# development database of its own (a SQLite file beside it) when it is unset.
FALLING_BACK = FLASK_WSGI.replace('os.environ["DATABASE_URL"]',
                                  'os.environ.get("DATABASE_URL") or "sqlite:///" + os.path.abspath("db")')


def test_a_flask_app_is_created_for_the_runs_database_not_the_one_it_falls_back_to(verify, tmp_path,
                                                                                  shared_python):
    assert FALLING_BACK != FLASK_WSGI
    project = flask_project(tmp_path / "project", {"wsgi.py": FALLING_BACK})

    stages = [f"--stage={stage}" for stage in REVISION_STAGES]
    result = verify(project, "--python", str(shared_python), *stages)

    assert result.code == 0, result.stdout + result.stderr
    _no_traceback(result)
    for stage in REVISION_STAGES:
        assert result.stage(stage)["status"] == "pass", result.stage(stage)
    assert not (project / "db").exists(), "the app's own development database was opened"


# CTFd's shape: the app the flask command finds creates its database when it is created
# (sqlalchemy_utils' create_database) and migrates it.
CREATES_ITS_DATABASE = FLASK_WSGI + """\
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

url = make_url(os.environ["DATABASE_URL"])
server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
with server.connect() as connection:
    if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                              {"name": url.database}).first():
        connection.execute(text('CREATE DATABASE "%s"' % url.database))
server.dispose()
config = Config("migrations/alembic.ini")
config.set_main_option("script_location", "migrations")
with app.app_context():
    command.upgrade(config, "head")
"""


@pytest.mark.parametrize("own_python", [True, False], ids=["own-python", "beside-the-suite"])
def test_an_app_that_creates_the_runs_database_is_named(verify, tmp_path, shared_python, pg_server,
                                                       own_python):
    project = flask_project(tmp_path / "project", {"wsgi.py": CREATES_ITS_DATABASE})

    result = verify(project, *(["--python", str(shared_python)] if own_python else []), "--stage", "fresh")

    # Its own process creates the app before the run's first database (when it loads the
    # revisions); the suite's creates it inside the first one.
    found = ("already existed when the suite went to create it: the app env.py loads created it" if own_python
             else "already records revision 0001 before the first revision ran")
    line = assert_usage_error(result, found, "point flask_app or the runner hook at an app that")
    if own_python:  # dropped with the run's own
        made = line.split("the run's database ")[1].split()[0]
        with pg_server.connect(pg_server.endpoint.maintenance_db) as connection:
            assert not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (made,)).fetchone()


def _environment_with(folder, packages: dict[str, str]):
    """A virtual environment holding only `packages` (module -> its __init__.py source)."""
    venv.create(folder, with_pip=False, symlinks=True)
    python = folder / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    for module, source in packages.items():
        Path(site, module).mkdir(parents=True)
        Path(site, module, "__init__.py").write_text(source)
    return python


# flasky's pins on a recent Python: neither imports (collections.MutableMapping is gone).
OLD_PINS = {
    "sqlalchemy": "__version__ = '1.1.11'\nimport collections\n"
                  "class View(collections.MutableMapping): pass\n",
    "alembic": "__version__ = '0.9.3'\nimport sqlalchemy\n",
}


@pytest.mark.parametrize(("packages", "named"), [
    (OLD_PINS, "it has SQLAlchemy 1.1.11 and Alembic 0.9.3"),
    ({}, "it has no SQLAlchemy and no Alembic"),
], ids=["pinned-below-the-floor", "neither-installed"])
def test_a_stack_below_the_floor_is_one_line_naming_the_floor(verify, tmp_path, packages, named):
    python = _environment_with(tmp_path / "venv", packages)
    environment = everything_in(tmp_path / "venv")

    result = verify(_project(tmp_path), "--python", str(python))

    assert_usage_error(result, f"the project's Python ({python})", named,
                       "the suite needs Python 3.9+, SQLAlchemy 1.3+, Alembic 1.5+ there")
    assert everything_in(tmp_path / "venv") == environment


def test_a_python_below_the_floor_is_named_with_its_packages():
    assert floor.too_old((3, 6, 15)) == ["Python 3.6"]  # with the suite's own packages
    assert floor.too_old() == []


def test_an_env_py_that_opens_the_apps_sqlite_file_is_refused_before_anything_runs(verify, tmp_path,
                                                                                    old_python):
    """An env.py that takes the app's development URL (a SQLite file) instead of the one it is
    handed: one line naming the dialect and what to set, in either process, nothing written."""
    project = build_project(tmp_path / "project", [items_revision()], env="foreign_database")
    app_db = tmp_path / "app.db"
    env = {"APP_DATABASE_URL": f"sqlite:///{app_db}"}

    for extra in ((), ("--python", str(old_python))):
        result = verify(project, "--stage", "fresh", *extra, env=env)

        # (In the old stack's process a note about the fixture's psycopg URL comes first.)
        error = result.stderr.strip().splitlines()[-1]
        assert result.code == 2 and error.startswith("error: env.py connected to a sqlite database"), error
        assert "nothing was run there" in error and "[tool.alembic-preflight] env" in error, error
        assert "stage-crashed" not in result.stdout, result.stdout
        _no_traceback(result)
        if app_db.exists():  # connecting made the file; nothing may be in it
            with closing(sqlite3.connect(app_db)) as db:
                assert db.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_a_project_without_models_is_told_how_to_leave_drift_out_in_its_own_python(verify, tmp_path,
                                                                                   shared_python):
    project = build_project(tmp_path / "project", [items_revision()], env="no_metadata")

    result = verify(project, "--python", str(shared_python))

    assert_usage_error(result, "passes no target_metadata", "raw SQL only, leaves drift out",
                       'stages = ["files", "heads", "fresh", "roundtrip", "lint"]')
