"""What the fresh build measured, where users look: the HTML report's revision list (a
deploy-risk column, each revision's statements) and GitHub annotations on the revision's
upgrade(), from one run of a history whose revisions rewrite and briefly lock a table."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from cli_support import run_cli
from projects import Rev, build_project, per_migration_env
from test_reports import line_of

from checks.report.html import build_html
from checks.result import StageResult, Status

CREATE = """\
op.create_table("items", sa.Column("id", sa.Integer, primary_key=True), sa.Column("n", sa.Integer))
"""
REWRITE = 'op.alter_column("items", "n", type_=sa.BigInteger)'
BRIEF = 'op.execute("SET LOCAL lock_timeout = \'5s\'")\nop.add_column("items", sa.Column("note", sa.Text))'


class Rows(HTMLParser):
    """The text of each row of the revision list, by revision, and of its statement list."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}
        self.statements: dict[str, list[str]] = {}
        self.order: list[str] = []
        self._rev: str | None = None
        self._in_li = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("class") == "revision":
            self._rev = attrs["data-rev"]
            self.order.append(self._rev)
            self.rows[self._rev] = ""
        elif tag == "li" and self._rev:
            self._in_li = True
            self.statements.setdefault(self._rev, []).append("")

    def handle_endtag(self, tag):
        if tag == "tr":
            self._rev = None
        elif tag == "li":
            self._in_li = False

    def handle_data(self, data):
        if self._rev:
            self.rows[self._rev] += data + " "
            if self._in_li:
                self.statements[self._rev][-1] += data + " "


@pytest.fixture(scope="module")
def reported(pg_server, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("deploy-reports")
    project = build_project(tmp / "repo" / "db", [Rev("0001", None, CREATE), Rev("0002", "0001", REWRITE),
                                                  Rev("0003", "0002", BRIEF)],
                            files={"migrations/env.py": per_migration_env("sync_template")})
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    result = run_cli("verify", "--project", str(project), "--stage", "fresh", "--quiet-progress",
                     "--report-html", str(tmp / "report.html"), url=url, report=tmp / "report.json",
                     env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp / "repo")})
    assert result.code == 0, result.stdout + result.stderr
    rows = Rows()
    rows.feed((tmp / "report.html").read_text())
    return result, project, rows


def test_the_revision_list_has_a_deploy_risk_column(reported):
    _, _, rows = reported
    assert rows.order == ["0003", "0002", "0001"]  # newest first, as `alembic history`
    assert "deploy-rewrite : ACCESS EXCLUSIVE on public.items, table rewritten" in rows.rows["0002"]
    assert "deploy-lock : ACCESS EXCLUSIVE on public.items" in rows.rows["0003"]
    assert "no table that existed before it" in rows.rows["0001"]


def test_without_the_rehearse_stage_no_report_has_its_timings(reported):
    result, project, _ = reported
    assert [s["name"] for s in result.report["stages"]] == ["fresh"]
    assert "rehearsal" not in result.stage("fresh")
    page = (project.parent.parent / "report.html").read_text()
    assert 'class="rehearsed"' not in page and "(rehearse)" not in page and "max_lock_ms" not in page


def test_each_revision_lists_its_measured_statements(reported):
    _, _, rows = reported
    [statement] = rows.statements["0002"]
    assert " ".join(statement.split()) == ("ALTER TABLE items ALTER COLUMN n TYPE BIGINT ACCESS EXCLUSIVE on "
                                           "public.items; rewrites public.items, public.items_pkey")
    [added] = rows.statements["0003"]
    assert "ADD COLUMN note" in added and "ACCESS EXCLUSIVE on public.items" in added
    assert any("creates public.items" in s for s in rows.statements["0001"])


def test_github_annotates_measured_locks_on_the_revisions_upgrade(reported):
    result, project, _ = reported
    versions = project / "migrations" / "versions"
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    rewrite = ("::warning file=db/migrations/versions/0002_revision.py,"
               f"line={line_of(versions / '0002_revision.py', 'def upgrade')},"
               "title=alembic-preflight fresh%3A deploy-rewrite on public.items::revision 0002 takes "
               "ACCESS EXCLUSIVE on public.items")
    assert any(line.startswith(rewrite) for line in annotations), "\n".join(annotations)
    # Bounded by its lock_timeout, the brief lock is a note: still shown on the line.
    brief = ("::notice file=db/migrations/versions/0003_revision.py,"
             f"line={line_of(versions / '0003_revision.py', 'def upgrade')},"
             "title=alembic-preflight fresh%3A deploy-lock on public.items::")
    assert any(line.startswith(brief) for line in annotations), "\n".join(annotations)
    assert not any("0001_revision.py" in line for line in annotations)


def test_without_measurements_the_column_says_not_measured():
    from checks.report.graph import Node

    nodes = [Node("0001", (), "0001.py", "create items")]
    page = build_html([StageResult("files", Status.PASS)], nodes, "app")
    rows = Rows()
    rows.feed(page)
    assert "not measured" in rows.rows["0001"]
