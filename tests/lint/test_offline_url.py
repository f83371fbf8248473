"""Lint's offline SQL is PostgreSQL's, whatever URL alembic.ini holds.

alembic.ini's URL is often SQLite or a placeholder (`driver://user:pass@localhost/dbname`,
left from `alembic init`); env.py's offline mode reads it, so the suite hands env.py a
PostgreSQL URL there, as it does online. A revision that opens its own connection is that
revision's finding, never env.py's.
"""

from __future__ import annotations

import pytest
from projects import ALEMBIC_INI, CREATE_ITEMS, DROP_ITEMS, Rev, assert_clean, build_project, items_revision

from checks.lint import rule_hits
from checks.lint.settings import LintSettings
from checks.project.project import Project

PLACEHOLDER_URL = "postgresql+psycopg://nobody@unreachable.invalid/none"


@pytest.mark.parametrize("url", ["driver://user:pass@localhost/dbname", "sqlite:///app.db"])
def test_offline_sql_is_postgresql_whatever_alembic_ini_says(verify, tmp_path, url):
    project = build_project(tmp_path / "project", [items_revision()],
                            files={"alembic.ini": ALEMBIC_INI.replace(PLACEHOLDER_URL, url)})
    result = verify(project)
    assert_clean(result)
    assert result.findings("lint", "offline-unsupported") == [], result.stdout

    _, capture = rule_hits(Project(project), LintSettings())
    assert "id SERIAL NOT NULL" in capture.by_id()["0001"].sql  # SQLite would say INTEGER


# Both run online, on the suite's database; neither can run under `alembic upgrade --sql`.
OWN_ENGINE = Rev("0001", None, CREATE_ITEMS + """\
from alembic import context
engine = sa.create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    connection.execute(sa.text("SELECT 1")).scalar_one()
engine.dispose()
""", DROP_ITEMS, file="0001_own_engine.py")
READS_BIND = Rev("0002", "0001", """\
if op.get_bind().execute(sa.text("SELECT count(*) FROM items")).scalar():
    op.execute("UPDATE items SET name = upper(name)")
""", file="0002_reads_bind.py")


def test_a_revision_with_its_own_connection_is_that_revisions_finding(verify, tmp_path):
    project = build_project(tmp_path / "project", [OWN_ENGINE, READS_BIND])
    result = verify(project)
    assert_clean(result)
    found = result.findings("lint", "offline-unsupported")
    assert [(f["revision"], f["object"]) for f in found] == \
        [("0001", "0001_own_engine.py"), ("0002", "0002_reads_bind.py")], result.stdout
    assert not any("env.py" in f["message"] for f in found), found
    assert "OperationalError" in found[0]["message"]  # it tried to connect, and was refused


def test_an_offline_mode_that_migrates_nothing_is_said_and_the_rules_still_read(verify, tmp_path):
    drop = Rev("0002", "0001", 'op.drop_column("items", "name")',
               'op.add_column("items", sa.Column("name", sa.Text))')
    models = 'import sqlalchemy as sa\n\nmetadata = sa.MetaData()\n' \
             'sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True))\n'
    project = build_project(tmp_path / "project", [items_revision(), drop], models=models, env="offline_noop")
    result = verify(project, "--stage", "lint")

    env_findings = [f for f in result.findings("lint", "offline-unsupported") if f["object"] == "env.py"]
    assert len(env_findings) == 1 and "never called" in env_findings[0]["message"], result.stdout
    assert [f["revision"] for f in result.findings("lint", "drop-column")] == ["0002"]
