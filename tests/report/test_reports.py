"""Every report from one run of a fixture project with known defects: JUnit, GitHub
annotations and summary, HTML (opened in a real headless browser), and the file:line
each finding points at in the JSON report."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from junitparser import Error, Failure, JUnitXml
from pixels import colour_count
from projects import Rev, build_project, items_revision

from checks.report.html import COLOURS

# A branch and a merge: 0002a drops a column (lint) and its downgrade leaves the column
# nullable (roundtrip); 0002b's downgrade does nothing (lint, roundtrip); 0003 merges them.
DROP_NAME = 'op.execute("SET LOCAL lock_timeout = \'5s\'")\nop.drop_column("items", "name")'
RESTORE_NAME = 'op.add_column("items", sa.Column("name", sa.Text))'
CREATE_TAGS = 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))'


def defective(root: Path) -> Path:
    return build_project(root, [
        items_revision("0001"),
        Rev("0002a", "0001", DROP_NAME, RESTORE_NAME),
        Rev("0002b", "0001", CREATE_TAGS, "pass"),
        Rev("0003", ("0002a", "0002b")),
    ])


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


@pytest.fixture(scope="module")
def reported(pg_server, tmp_path_factory):
    """One run with every report, as CI would make it."""
    from cli_support import run_cli

    tmp = tmp_path_factory.mktemp("reports")
    project = defective(tmp / "repo" / "db")
    summary = tmp / "summary.md"
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    result = run_cli("verify", "--project", str(project), "--quiet-progress",
                     "--report-junit", str(tmp / "out" / "junit.xml"),
                     "--report-html", str(tmp / "report.html"),
                     url=url, report=tmp / "report.json",
                     env={"GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": str(tmp / "repo"),
                          "GITHUB_STEP_SUMMARY": str(summary)})
    assert result.code == 1, result.stdout + result.stderr
    return result, project, tmp


def test_findings_point_at_the_operation_line(reported):
    result, project, _ = reported
    versions = project / "migrations" / "versions"
    a, b = versions / "0002a_revision.py", versions / "0002b_revision.py"
    where = {(f["code"], f["revision"]): (f["file"], f["line"])
             for stage in result.report["stages"] for f in stage["findings"]}
    rel = "migrations/versions/"
    assert where["drop-column", "0002a"] == (rel + a.name, line_of(a, "op.drop_column"))
    assert where["downgrade-leaves-trace", "0002a"] == (rel + a.name, line_of(a, "def downgrade"))
    assert where["empty-downgrade", "0002b"] == (rel + b.name, line_of(b, "def downgrade"))
    # The re-upgrade's traceback shows the very line that failed.
    assert where["reupgrade-failed", "0002b"] == (rel + b.name, line_of(b, "op.create_table"))
    for stage in result.report["stages"]:
        for finding in stage["findings"]:
            if finding["revision"]:
                assert finding["file"] and finding["line"], finding


def test_junit_has_a_case_per_stage_per_revision(reported):
    _, _, tmp = reported
    xml = JUnitXml.fromfile(str(tmp / "out" / "junit.xml"))
    cases = {case.name: case for suite in xml for case in suite}
    for stage in ("fresh", "roundtrip", "lint"):
        assert {f"{stage}[{r}]" for r in ("0001", "0002a", "0002b", "0003")} <= set(cases), sorted(cases)
    assert {"files", "heads"} <= set(cases)

    def failures(name):
        return [r for r in cases[name].result if isinstance(r, Failure | Error)]

    failed = sorted(name for name in cases if failures(name))
    # Drift names the revision that made each object what it is: 0002a dropped items.name,
    # 0002b created tags.
    assert failed == ["drift[0002a]", "drift[0002b]", "roundtrip[0002a]", "roundtrip[0002b]"], failed
    roundtrip = failures("roundtrip[0002a]")[0]
    assert "downgrade of 0002a" in roundtrip.message and roundtrip.type == "downgrade-leaves-trace"
    assert "fix: make downgrade()" in roundtrip.text
    assert "0002a_revision.py:" in roundtrip.text
    assert not failures("lint[0002a]") and "drop-column" in cases["lint[0002a]"].system_out
    assert xml.failures == 4 and xml.tests == len(cases)


def test_github_annotations_name_file_and_line(reported):
    result, project, tmp = reported
    a = project / "migrations" / "versions" / "0002a_revision.py"
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    expected = ("::warning file=db/migrations/versions/0002a_revision.py,"
                f"line={line_of(a, 'op.drop_column')},"
                "title=alembic-preflight lint%3A drop-column::0002a_revision.py drops a column")
    assert any(line.startswith(expected) for line in annotations), "\n".join(annotations)
    assert any(line.startswith("::error file=db/migrations/versions/0002a_revision.py,"
                               f"line={line_of(a, 'def downgrade')},title=alembic-preflight roundtrip%3A")
               for line in annotations)
    # A message's line breaks are escaped: one workflow command per line.
    assert all("%0Afix: " in line for line in annotations)
    summary = (tmp / "summary.md").read_text()
    assert "## alembic-preflight: FAIL" in summary
    assert "| roundtrip | ❌ fail | 3 | 0 |" in summary
    assert "`migrations/versions/0002a_revision.py:" in summary


def test_no_annotations_outside_github(verify, tmp_path):
    result = verify(defective(tmp_path / "p"), "--quiet-progress", env={"GITHUB_ACTIONS": ""})
    assert result.code == 1
    assert not [line for line in result.stdout.splitlines() if line.startswith("::")]


# CI installs chromium (.ci/run): there a missing browser is a failure, not a skip.
@pytest.mark.skipif(shutil.which("chromium") is None and os.environ.get("CI") != "true",
                    reason="needs chromium (apt-get install chromium)")
def test_html_report_shows_the_graph_in_a_browser(reported):
    _, _, tmp = reported
    page = tmp / "report.html"
    text = page.read_text()
    assert "http://" not in text.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in text
    browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1000,700"]
    dom = subprocess.run([*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert 'id="revision-graph"' in dom
    assert dom.count('class="rev ') == 4 and "(merge)" in dom
    assert 'data-rev="0002a" data-worst="error"' in dom and 'data-rev="0001" data-worst="clean"' in dom
    # The script ran: the worst revision's findings are shown without a click.
    assert "roundtrip downgrade-leaves-trace" in dom.split('id="details"')[1]
    shot = tmp / "shot.png"
    subprocess.run([*browser, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    red = tuple(int(COLOURS["error"][i:i + 2], 16) for i in (1, 3, 5))
    green = tuple(int(COLOURS["clean"][i:i + 2], 16) for i in (1, 3, 5))
    red_pixels, distinct = colour_count(shot, red)
    assert distinct > 50, "the screenshot is blank"
    assert red_pixels > 300, "no revision drawn in the error colour"
    assert colour_count(shot, green)[0] > 200, "no clean revision drawn"


def test_a_per_revision_stage_that_errors_on_no_revision_is_an_error_in_junit(verify, tmp_path):
    # env.py fails before running any migration: fresh errors, and no revision is to blame.
    project = build_project(tmp_path / "project", [items_revision()], env="invalid_settings")
    junit = tmp_path / "junit.xml"
    result = verify(project, "--stage", "fresh", "--report-junit", str(junit))

    assert result.code == 2, result.stdout + result.stderr
    cases = {case.name: case for suite in JUnitXml.fromfile(str(junit)) for case in suite}
    assert "fresh" in cases, f"the stage's own error has no case: {sorted(cases)}"
    [error] = [r for r in cases["fresh"].result if isinstance(r, Error)]
    assert error.type == "project-error" and "env.py failed" in error.message, error.message
