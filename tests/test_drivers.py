"""The driver env.py is handed, and the connection it shares with the suite.

A project pinned to psycopg2 (SQLAlchemy 1.4 projects nearly always are) must get URLs and a
shared connection on psycopg2, and pass every stage; an env.py that treats the shared
connection as an Engine must not end the suite's transaction.
"""

from __future__ import annotations

import pytest
import sqlalchemy
from projects import (
    ALEMBIC_INI,
    FIXTURE_DRIVER,
    assert_clean,
    assert_usage_error,
    build_project,
    items_revision,
)
from sqlalchemy import text
from sqlalchemy.engine import Connection

from checks.project import driver
from checks.project.connection import shared_connection

SA2 = int(sqlalchemy.__version__.split(".")[0]) >= 2
PSYCOPG2_INI = ALEMBIC_INI.replace(f"{FIXTURE_DRIVER}://", "postgresql+psycopg2://")
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


@pytest.mark.skipif(SA2, reason="on SQLAlchemy 2 the suite's own psycopg 3 is always there")
def test_sqlalchemy_14_without_psycopg2_says_what_to_install(verify, tmp_path):
    blocked = tmp_path / "site" / "psycopg2"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text('raise ImportError("psycopg2 is not installed")\n')
    project = build_project(tmp_path / "project", [items_revision()])
    result = verify(project, env={"PYTHONPATH": str(blocked.parent)})
    assert_usage_error(result, "SQLAlchemy 1.4", "pip install psycopg2-binary")


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
    expected = "psycopg" if SA2 else "psycopg2"
    if not SA2:
        pytest.importorskip("psycopg2")
    for ini_url in ("driver://user:pass@localhost/dbname", "%(DB_URL)s", "postgresql+nosuch://h/db", None):
        assert driver.choose(ini_url, _env_py(tmp_path)).project == expected, ini_url
    # SQLAlchemy 1.4 has no psycopg 3 dialect, whatever alembic.ini says.
    assert driver.choose("postgresql+psycopg://h/db", None).project == expected


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
    with pytest.raises(RuntimeError), shared_connection(url) as shared:
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
    with pytest.raises(RuntimeError), shared_connection(url) as shared:
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
    with shared_connection(url) as shared:
        shared.execute(text("CREATE TABLE lent (id int)"))
    assert _table_exists(pg_server, database), "left open by env.py, committed by the suite"
