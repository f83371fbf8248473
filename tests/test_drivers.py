"""The driver env.py is handed, and the connection it shares with the suite.

A project pinned to psycopg2 (SQLAlchemy 1.4 projects nearly always are) must get URLs and a
shared connection on psycopg2, and pass every stage; a project that names no driver gets the
one its SQLAlchemy gives a bare postgresql:// URL, as its own `alembic upgrade` would; the
driver setting overrides both; an env.py that treats the shared connection as an Engine must
not end the suite's transaction.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy
from projects import (
    ALEMBIC_INI,
    CREATE_ITEMS,
    DROP_ITEMS,
    FIXTURE_DRIVER,
    Rev,
    assert_clean,
    assert_usage_error,
    build_project,
    items_revision,
)
from sqlalchemy import text
from sqlalchemy.engine import Connection

from checks.errors import ConfigError
from checks.project import driver
from projectside.connection import lent_connection

SA_VERSION = tuple(int(part) for part in sqlalchemy.__version__.split(".")[:2])
SA2 = SA_VERSION >= (2, 0)
# What SQLAlchemy's changelog says a bare postgresql:// URL loads: psycopg from 2.1 on.
SQLALCHEMY_DEFAULT = "psycopg" if SA_VERSION >= (2, 1) else "psycopg2"
PSYCOPG2_INI = ALEMBIC_INI.replace(f"{FIXTURE_DRIVER}://", "postgresql+psycopg2://")
BARE_INI = ALEMBIC_INI.replace(f"{FIXTURE_DRIVER}://", "postgresql://")
ASYNC_ENV = "from sqlalchemy.ext.asyncio import async_engine_from_config\n"

PSYCOPG2_PROJECTS = {
    "named in alembic.ini": dict(env="psycopg2_only", files={"alembic.ini": PSYCOPG2_INI}),
    "imported by env.py": dict(env="psycopg2_only"),
    "on the shared connection": dict(env="psycopg2_connection"),
}


@pytest.mark.parametrize("shape", PSYCOPG2_PROJECTS)
def test_psycopg2_only_project_passes_every_stage(verify, tmp_path, shape):
    pytest.importorskip("psycopg2")
    project = build_project(tmp_path / "project", [items_revision()], **PSYCOPG2_PROJECTS[shape])
    assert_clean(verify(project))


def _without(tmp_path, module: str) -> dict[str, str]:
    """The environment of a run in which `module` cannot be imported, installed or not."""
    blocked = tmp_path / "site" / module
    blocked.mkdir(parents=True)
    message = f"No module named {module!r}"
    (blocked / "__init__.py").write_text(f"raise ModuleNotFoundError({message!r}, name={module!r})\n")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(blocked.parent), os.environ.get("PYTHONPATH")]))}


@pytest.mark.skipif(SA2, reason="on SQLAlchemy 2 the suite's own psycopg 3 is always there")
def test_sqlalchemy_14_without_psycopg2_says_what_to_install(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()])
    result = verify(project, env=_without(tmp_path, "psycopg2"))
    assert_usage_error(result, "SQLAlchemy 1.4", "pip install psycopg2-binary")


def _runs_on(expected: str) -> Rev:
    """items_revision, failing wherever its connection is not on the `expected` driver."""
    check = f"""\
if not op.get_context().as_sql:  # lint's offline run has no connection
    used = op.get_bind().dialect.driver
    if used != {expected!r}:
        raise RuntimeError(f"this revision ran on {{used}}, not {expected}")
"""
    return Rev("0001", None, check + CREATE_ITEMS, check + DROP_ITEMS)


def test_a_bare_url_gets_the_driver_sqlalchemy_gives_it(verify, tmp_path):
    # A project that names no driver runs on what its own `alembic upgrade` would load.
    assert driver.sqlalchemy_default() == SQLALCHEMY_DEFAULT
    project = build_project(tmp_path / "project", [_runs_on(SQLALCHEMY_DEFAULT)],
                            files={"alembic.ini": BARE_INI})
    result = verify(project)
    assert_clean(result)
    assert "note:" not in result.stderr, result.stderr


PINNED = {"psycopg2": "postgresql+psycopg://", "psycopg": "postgresql+psycopg2://"}  # -> what the ini names


@pytest.mark.parametrize("env", ["sync_template", "connection"])  # sqlalchemy.url; the shared connection
@pytest.mark.parametrize("pinned", PINNED)
def test_the_driver_setting_overrides_what_the_project_names(verify, tmp_path, pinned, env):
    if pinned == "psycopg" and not SA2:
        pytest.skip("SQLAlchemy 1.4 has no psycopg 3 dialect")
    pytest.importorskip(pinned)
    ini = ALEMBIC_INI.replace(f"{FIXTURE_DRIVER}://", PINNED[pinned])
    project = build_project(tmp_path / "project", [_runs_on(pinned)], env=env, files={"alembic.ini": ini},
                            settings=f'driver = "{pinned}"\n')
    result = verify(project, "--stage", "fresh")
    assert result.code == 0, result.stdout + result.stderr


def test_the_driver_option_overrides_the_setting(verify, tmp_path):
    pytest.importorskip("psycopg2")
    project = build_project(tmp_path / "project", [_runs_on("psycopg2")], files={"alembic.ini": BARE_INI},
                            settings='driver = "asyncpg"\n')
    result = verify(project, "--stage", "fresh", "--driver", "psycopg2")
    assert result.code == 0, result.stdout + result.stderr


def test_an_unknown_driver_setting_lists_the_known_ones(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()], settings='driver = "psycopg4"\n')
    assert_usage_error(verify(project), "pyproject.toml [tool.alembic-preflight]: driver = 'psycopg4' is "
                       "not a PostgreSQL driver", "psycopg, psycopg2, asyncpg, pg8000")
    assert_usage_error(verify(project, "--driver", "nosuch"), "--driver nosuch is not a PostgreSQL driver")


def test_a_driver_setting_that_is_not_installed_names_the_package(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()], settings='driver = "pg8000"\n')
    assert_usage_error(verify(project, env=_without(tmp_path, "pg8000")),
                       "driver = 'pg8000' is not installed in the project's environment",
                       "pip install pg8000")


def test_a_driver_alembic_ini_names_but_is_not_installed_is_replaced_and_said_once(verify, tmp_path):
    project = build_project(tmp_path / "project", [_runs_on(SQLALCHEMY_DEFAULT)],
                            files={"alembic.ini": ALEMBIC_INI.replace(f"{FIXTURE_DRIVER}://", "postgresql+pg8000://")})
    result = verify(project, "--stage", "fresh", env=_without(tmp_path, "pg8000"))
    assert result.code == 0, result.stdout + result.stderr
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert notes == [f"note: env.py is handed {SQLALCHEMY_DEFAULT}: alembic.ini's sqlalchemy.url names the "
                     "driver pg8000, which is not installed in the project's environment; pip install pg8000 "
                     "into the Python that runs the suite (or set driver = "
                     f"\"{SQLALCHEMY_DEFAULT}\" in the suite's settings to keep {SQLALCHEMY_DEFAULT})"]


def test_a_missing_driver_is_named_as_that_not_as_the_logging_config(verify, tmp_path):
    # alembic.ini's handler is the app's own, and its module builds the app's engine on import.
    ini = ALEMBIC_INI.replace("class = StreamHandler\nargs = (sys.stderr,)",
                              "class = app.audit.AuditHandler\nargs = ()")
    audit = ("import logging\nimport sqlalchemy as sa\n"
             "engine = sa.create_engine('postgresql+pg8000://app@db/app')\n\n\n"
             "class AuditHandler(logging.StreamHandler):\n    pass\n")
    project = build_project(tmp_path / "project", [items_revision()],
                            files={"alembic.ini": ini, "app/audit.py": audit})
    line = assert_usage_error(verify(project, env=_without(tmp_path, "pg8000")),
                              "the driver pg8000 used at app/audit.py line 3 is not installed in the "
                              "project's environment", "pip install pg8000")
    assert "logging" not in line and "handler" not in line


def test_a_default_driver_that_is_not_installed_is_replaced_with_a_note():
    facts = driver.Facts("2.0.36", "psycopg2", frozenset(driver.MODULES), frozenset({"psycopg", "asyncpg"}))
    chosen = driver.pick(facts)
    assert chosen.driver == "psycopg"
    assert chosen.note == ("env.py is handed psycopg: SQLAlchemy 2.0.36 maps a bare postgresql:// URL to "
                           "the driver psycopg2, which is not installed in the project's environment; pip "
                           "install psycopg2-binary into the Python that runs the suite (or set driver = "
                           "\"psycopg\" in the suite's settings to keep psycopg)")
    assert driver.pick(facts, "psycopg").note is None
    sqlalchemy_14 = driver.Facts("1.4.54", "psycopg2", frozenset({"psycopg2", "asyncpg"}),
                                 frozenset({"psycopg2"}))
    with pytest.raises(ConfigError, match="^--driver psycopg has no dialect in SQLAlchemy 1.4.54; use one it "
                       "has: psycopg2, asyncpg$"):
        driver.pick(sqlalchemy_14, "psycopg", "--driver psycopg")


def test_with_the_projects_own_python_a_missing_driver_is_to_be_installed_there():
    # buildbot on SQLAlchemy 2.1 with psycopg2 only: its bare URL would load psycopg.
    facts = {"sqlalchemy": "2.1.9", "default_driver": "psycopg", "dialects": list(driver.MODULES),
             "drivers": ["psycopg2"], "executable": "/srv/app/.venv/bin/python"}
    chosen = driver.choose(None, None, project_facts=facts)
    assert chosen.project == "psycopg2"
    assert chosen.note == ("env.py is handed psycopg2: SQLAlchemy 2.1.9 maps a bare postgresql:// URL to the "
                           "driver psycopg, which is not installed in the project's environment; pip install "
                           "'psycopg[binary]' into the project's Python (/srv/app/.venv/bin/python) (or set "
                           "driver = \"psycopg2\" in the suite's settings to keep psycopg2)")
    # A driver env.py imports and that Python lacks: installed there, choosing among what it has.
    assert driver.missing_driver("pg8000", "env.py line 4", chosen.facts) == (
        "the driver pg8000 used at env.py line 4 is not installed in the project's environment (No module "
        "named 'pg8000'); pip install pg8000 into the project's Python (/srv/app/.venv/bin/python) (with "
        "the project's requirements), or name an installed driver there (psycopg2)")


def _env_py(tmp_path, source: str = ""):
    path = tmp_path / "env.py"
    path.write_text(source)
    return path


def test_the_driver_alembic_ini_names_is_kept_when_it_loads(tmp_path):
    pytest.importorskip("psycopg2")
    assert driver.choose("postgresql+psycopg2://u@h/db", _env_py(tmp_path)).project == "psycopg2"


def test_async_env_keeps_asyncpg_and_shares_a_synchronous_connection(tmp_path):
    pytest.importorskip("asyncpg")
    chosen = driver.choose("postgresql+asyncpg://u@h/db", _env_py(tmp_path, ASYNC_ENV))
    assert (chosen.project, chosen.shared) == ("asyncpg", chosen.suite)
    assert chosen.suite in ("psycopg", "psycopg2")


def test_unloadable_or_unnamed_driver_falls_back_to_what_this_sqlalchemy_has(tmp_path):
    pytest.importorskip(SQLALCHEMY_DEFAULT)
    for ini_url in ("driver://user:pass@localhost/dbname", "%(DB_URL)s", "postgresql+nosuch://h/db", None):
        assert driver.choose(ini_url, _env_py(tmp_path)).project == SQLALCHEMY_DEFAULT, ini_url
    # SQLAlchemy 1.4 has no psycopg 3 dialect, whatever alembic.ini says.
    assert driver.choose("postgresql+psycopg://h/db", None).project == ("psycopg" if SA2 else "psycopg2")


def test_async_env_without_a_named_driver_gets_an_async_one(tmp_path):
    chosen = driver.choose("postgresql+psycopg2://h/db", _env_py(tmp_path, ASYNC_ENV)).project
    assert chosen == ("psycopg" if SA2 else "asyncpg")


def _table_exists(pg_server, database: str) -> bool:
    with pg_server.connect(database) as conn:
        return conn.execute("SELECT to_regclass('lent') IS NOT NULL").fetchone()[0]


def test_engine_begin_on_the_shared_connection_commits_like_an_engine(pg_server, make_database):
    # Outside a transaction (as env.py gets it), `connectable.begin()` is Engine.begin():
    # it yields the connection and commits at the end of its block.
    database = make_database("shared")
    url = pg_server.endpoint.url(database, driver.suite_driver())
    with pytest.raises(RuntimeError), lent_connection(url) as shared:
        assert isinstance(shared, Connection) and not shared.in_transaction()
        with shared.connect() as connection, connection.begin() as same:
            assert same is shared
            same.execute(text("CREATE TABLE lent (id int)"))
        raise RuntimeError("the suite's block fails after env.py's own transaction ended")
    assert _table_exists(pg_server, database)
    assert not type(shared).__name__.startswith("Shared"), "lent for good: its close would never close"


def test_what_env_py_leaves_open_is_the_suites_to_end(pg_server, make_database):
    database = make_database("shared")
    url = pg_server.endpoint.url(database, driver.suite_driver())
    with pytest.raises(RuntimeError), lent_connection(url) as shared:
        shared.begin()  # env.py's own transaction, never ended (1.4's legacy mode has no autobegin)
        shared.execute(text("CREATE TABLE lent (id int)"))
        with shared.begin() as same:
            assert same is shared  # inside an open transaction: lent, not committed
        shared.commit()
        shared.close()
        shared.dispose()
        assert shared.in_transaction() and not shared.closed
        raise RuntimeError("the suite's block fails: what env.py left open is rolled back")
    assert not _table_exists(pg_server, database)
    with lent_connection(url) as shared:
        shared.execute(text("CREATE TABLE lent (id int)"))
    assert _table_exists(pg_server, database), "left open by env.py, committed by the suite"
