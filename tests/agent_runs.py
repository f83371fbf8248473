"""A two-revision history walked up through the project's own process, however its Python is run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from projects import Rev, build_project, items_revision

from checks.project.agent import Agent, opening
from checks.project.project import Project

# The oldest project stack the suite supports on the project's side.
OLDEST_STACK = ["SQLAlchemy==1.3.24", "alembic==1.5.8", "psycopg2-binary==2.9.9"]


@dataclass
class Walked:
    facts: dict
    revisions: list[str]
    result: dict
    columns_after_each_step: list[int]
    recorded: list[tuple]  # the version table afterwards, read by the suite


def walk_two_revisions(python: str | list[str], root: Path, pg_server, database: str,
                       driver: str = "psycopg2") -> Walked:
    """Open the project in `python`, load its history, apply it step by step while reading
    the uncommitted schema between steps, and read what was committed."""
    project = Project(build_project(root, [items_revision(), Rev(
        "0002", "0001", 'op.add_column("items", sa.Column("price", sa.Integer))',
        'op.drop_column("items", "price")')], env="connection"))
    url = pg_server.url(database, driver).render_as_string(hide_password=False)
    columns = []
    with Agent(python) as agent:
        facts = agent.request("facts")
        agent.request("open", **opening(project))
        history = agent.request("history")
        connection = agent.connection()

        def on_event(event: str, data: dict):
            if event == "step":
                columns.append(connection.execute(
                    "SELECT count(*) FROM information_schema.columns WHERE table_name = %(t)s", {"t": "items"}
                ).scalar())

        result = agent.request("run", on_event=on_event, url=url,
                               plan=[[r["revision"], True] for r in history["revisions"]])
    with pg_server.connect(database) as conn:
        recorded = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return Walked(facts, [r["revision"] for r in history["revisions"]], result, columns, recorded)
