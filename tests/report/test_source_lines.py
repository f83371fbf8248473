"""The line each stage's finding points at, on fixture projects with one defect each."""

from __future__ import annotations

from pathlib import Path

from junitparser import Error, JUnitXml
from projects import Rev, build_project, items_revision

from checks.report.github import escape_data, escape_property
from checks.report.graph import Node, layout


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_dangling_down_revision_points_at_its_assignment(verify, tmp_path):
    project = build_project(tmp_path / "p", [items_revision("0001"), Rev("0002", "0bad")])
    result = verify(project, "--quiet-progress")
    [finding] = result.findings("files", "missing-down-revision")
    path = project / "migrations" / "versions" / "0002_revision.py"
    assert (finding["file"], finding["line"]) == ("migrations/versions/0002_revision.py",
                                                  line_of(path, "down_revision ="))


def test_failed_upgrade_points_at_the_failing_line(verify, tmp_path):
    body = 'op.create_table("notes", sa.Column("id", sa.Integer))\nop.execute("SELECT * FROM nowhere")'
    project = build_project(tmp_path / "p", [items_revision("0001"), Rev("0002", "0001", body)])
    result = verify(project, "--quiet-progress", "--stage", "fresh")
    [finding] = result.findings("fresh", "upgrade-failed")
    path = project / "migrations" / "versions" / "0002_revision.py"
    assert finding["line"] == line_of(path, "nowhere"), finding


def test_junit_says_when_the_run_ended_early(verify, tmp_path):
    junit = tmp_path / "junit.xml"
    result = verify(tmp_path / "missing", "--report-junit", str(junit))
    assert result.code == 2
    [case] = [case for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert case.name == "verify" and isinstance(case.result[0], Error)


def test_workflow_command_escaping():
    assert escape_data("50%\r\nnext") == "50%25%0D%0Anext"
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_branches_open_lanes_and_merges_close_them():
    nodes = layout([Node("a", (), "a.py", ""), Node("b", ("a",), "b.py", ""), Node("c", ("a",), "c.py", ""),
                    Node("m", ("b", "c"), "m.py", ""), Node("n", ("m",), "n.py", "")])
    lanes = {n.id: n.lane for n in nodes}
    assert lanes["b"] == lanes["a"] != lanes["c"]
    assert lanes["m"] == lanes["n"] == lanes["a"]
