"""The project's own process: facts, the history and env.py runs, on real PostgreSQL.

Everything that imports the project's code runs there; the suite reads the uncommitted
schema between steps through the migration's connection, by sending statements across.
"""

from __future__ import annotations

import sys

import pytest
from projects import FIXTURE_DBAPI, Rev, build_project, items_revision

from checks.project.agent import Agent, AgentFailure, opening
from checks.project.project import Project

TWO = [items_revision(), Rev("0002", "0001", 'op.add_column("items", sa.Column("price", sa.Integer))',
                             'op.drop_column("items", "price")')]


def agent_for(project: Project) -> Agent:
    agent = Agent(sys.executable)
    agent.request("open", **opening(project))
    return agent


def url_of(pg_server, name: str) -> str:
    return pg_server.url(name, FIXTURE_DBAPI).render_as_string(hide_password=False)


def test_the_facts_are_the_project_interpreters_own():
    import alembic
    import sqlalchemy

    with Agent(sys.executable) as agent:
        facts = agent.request("facts")
    assert facts["executable"] == sys.executable
    assert facts["sqlalchemy"] == sqlalchemy.__version__ and facts["alembic"] == alembic.__version__
    assert FIXTURE_DBAPI in facts["drivers"] and facts["default_driver"]


def test_the_history_comes_back_as_data_in_upgrade_order(tmp_path):
    project = Project(build_project(tmp_path / "p", [*TWO, Rev("0003", "0002", "pass", None)]))
    with agent_for(project) as agent:
        history = agent.request("history")
    assert [r["revision"] for r in history["revisions"]] == ["0001", "0002", "0003"]
    assert history["heads"] == ["0003"]
    assert [r["has_downgrade"] for r in history["revisions"]] == [True, True, False]
    assert history["revisions"][1]["down_revision"] == ["0001"]


def test_between_steps_the_suite_reads_the_uncommitted_schema_through_the_migration(
        tmp_path, pg_server, make_database):
    project = Project(build_project(tmp_path / "p", TWO, env="connection"))
    name = make_database()
    seen = []

    with agent_for(project) as agent:
        connection = agent.connection()

        def on_event(event: str, data: dict):
            if event == "step":
                columns = connection.execute(
                    "SELECT count(*) FROM information_schema.columns WHERE table_name = %(table)s",
                    {"table": "items"}).scalar()
                in_transaction = connection.exec_driver_sql("SELECT now() = statement_timestamp()").scalar()
                seen.append((data["index"], columns, in_transaction))
            return None

        agent.request("history")
        result = agent.request("run", on_event=on_event, url=url_of(pg_server, name),
                               plan=[["0001", True], ["0002", True]])
    assert result == {"started": True, "done": 2, "error": None}
    # One transaction: now() stays at its start while statements go on.
    assert seen == [(0, 2, False), (1, 3, False)]
    with pg_server.connect(name) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("0002",)]


def test_a_failing_revision_comes_back_with_its_database_error_and_file(tmp_path, pg_server, make_database):
    broken = Rev("0002", "0001", 'op.execute("ALTER TABLE nowhere ADD COLUMN x int")')
    project = Project(build_project(tmp_path / "p", [items_revision(), broken], env="connection"))
    name = make_database()
    with agent_for(project) as agent:
        agent.request("history")
        result = agent.request("run", url=url_of(pg_server, name), plan=[["0001", True], ["0002", True]])
    assert result["started"] and result["done"] == 1
    error = result["error"]
    assert 'relation "nowhere" does not exist' in error["database_error"]
    assert any(frame[0].endswith(broken.filename) for frame in error["frames"])


def test_a_step_the_suite_took_back_is_skipped_and_a_function_waits_for_it(tmp_path, pg_server,
                                                                          make_database):
    """The round trip's staircase: down, up under a savepoint the suite sets before the
    upgrade's function runs, and the second down skipped once the suite rolled back."""
    project = Project(build_project(tmp_path / "p", [items_revision()], env="connection"))
    name = make_database()
    events = []
    with agent_for(project) as agent:
        connection = agent.connection()

        def on_event(event: str, data: dict):
            events.append((event, data.get("index")))
            if event == "before_function":
                connection.exec_driver_sql("SAVEPOINT again")
            if event == "step" and data["index"] == 1:
                connection.exec_driver_sql("ROLLBACK TO SAVEPOINT again")
            return event == "skip" and data["index"] == 2

        agent.request("history")
        agent.request("run", url=url_of(pg_server, name), plan=[["0001", True]])
        result = agent.request("run", on_event=on_event, url=url_of(pg_server, name),
                               plan=[["0001", False], ["0001", True], ["0001", False]],
                               pause_before=[1], ask_skip=True)
    assert result["error"] is None and result["done"] == 3
    assert events == [("started", None), ("step", 0), ("skip", 1), ("before_function", 1), ("step", 1),
                      ("skip", 2)]
    with pg_server.connect(name) as conn:  # as the first downgrade left it
        assert conn.execute("SELECT to_regclass('items')").fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 0


def test_an_unknown_request_is_an_error_not_a_hang():
    with Agent(sys.executable) as agent, pytest.raises(AgentFailure, match="no such request"):
        agent.request("nothing")

