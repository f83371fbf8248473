"""rehearse: each revision that locks a table before it is timed on tables filled with rows, at
two sizes scaled down from the declared volumes, and its lock time estimated at full size.

One history: a revision that changes a column's type (PostgreSQL rewrites the table under
ACCESS EXCLUSIVE: the time grows with the rows) and one that adds a nullable column (a
change of the catalog alone: the same time at any size).
"""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest
from cli_support import run_cli
from doc_pages import DOCS, snippets
from projects import Rev, assert_usage_error, build_project, per_migration_env

from checks.rehearse import scale
from checks.rehearse.estimate import through
from checks.rehearse.findings import milliseconds

MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
"""
HISTORY = [
    Rev("0001", None, 'op.create_table("items", sa.Column("id", sa.Integer, primary_key=True),\n'
                      '                sa.Column("n", sa.Integer), sa.Column("name", sa.Text))'),
    Rev("0002", "0001", 'op.alter_column("items", "n", type_=sa.BigInteger)'),  # a rewrite
    Rev("0003", "0002", 'op.add_column("items", sa.Column("note", sa.Text))'),  # the catalog only
]


def _project(root, settings: str = "") -> Path:
    return build_project(root, HISTORY, models=MODELS, settings=settings,
                         files={"migrations/env.py": per_migration_env("sync_template")})


def _rehearse(pg_server, project, report, *args):
    """The rehearse stage alone, with the JSON report at `report` and the HTML report beside it."""
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    result = run_cli("verify", "--project", str(project), "--stage", "rehearse", "-v",
                     "--report-html", str(report.with_suffix(".html")), *args, url=url, report=report)
    result.html = RehearsedCells.of(report.with_suffix(".html"))
    return result


class RehearsedCells(HTMLParser):
    """The HTML report's revision list: by revision, the text of its rehearse cell and whether
    it is marked over max_lock_ms; and the column headings."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, str] = {}
        self.over: set[str] = set()
        self.headings: list[str] = []
        self._rev: str | None = None
        self._in: str | None = None  # "cell" or "heading"

    @classmethod
    def of(cls, path: Path) -> RehearsedCells | None:
        if not path.exists():
            return None
        cells = cls()
        cells.feed(path.read_text())
        return cells

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr" and attrs.get("class") == "revision":
            self._rev = attrs["data-rev"]
        elif tag == "td" and self._rev and attrs.get("class") == "rehearsed":
            self._in = "cell"
            self.cells[self._rev] = ""
        elif tag == "th":
            self._in = "heading"
            self.headings.append("")
        elif tag == "span" and self._in == "cell" and attrs.get("class") == "over-limit":
            self.over.add(self._rev)

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in = None
        elif tag == "tr":
            self._rev = None

    def handle_data(self, data):
        if self._in == "cell":
            self.cells[self._rev] += data
        elif self._in == "heading":
            self.headings[-1] += data


@pytest.fixture(scope="module")
def rehearsed(pg_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("rehearse")
    project = _project(root / "project", "volumes = { items = 5_000_000 }\nrehearse_budget = 600\n")
    result = _rehearse(pg_server, project, root / "report.json", "--report-junit", str(root / "junit.xml"))
    assert result.code == 0, result.stdout + result.stderr
    result.junit = ET.parse(root / "junit.xml").getroot()
    return result


def _timed(result, revision: str) -> dict:
    """The rehearse stage's one timed table of `revision`, as the JSON report holds it."""
    [entry] = [r for r in result.stage("rehearse")["rehearsal"]["revisions"] if r["revision"] == revision]
    assert (entry["failed"], entry["unfilled"]) == (None, [])
    [table] = entry["tables"]
    return table


def _found(result, revision: str) -> list[dict]:
    return [f for f in result.findings("rehearse") if f["revision"] == revision]


def test_a_rewrite_is_estimated_and_warned_about_at_a_large_volume(rehearsed):
    [found] = _found(rehearsed, "0002")
    assert (found["code"], found["severity"], found["object"]) == ("rehearse-lock", "warning", "public.items")
    message = found["message"]
    assert "holds ACCESS EXCLUSIVE on public.items" in message
    assert "at the declared 5,000,000 rows" in message
    assert "over max_lock_ms (1000)" in message
    estimate = float(re.search(r"estimated ([\d,.]+) ms", message).group(1).replace(",", ""))
    assert estimate > 1000


def test_a_lock_held_past_max_lock_ms_fails_its_junit_case_and_a_short_one_does_not(rehearsed):
    failed = {case.get("name"): case.find("failure") for case in rehearsed.junit.iter("testcase")}
    long = [name for name, failure in failed.items() if failure is not None]
    assert long and all(failed[name].get("type") == "rehearse-lock" for name in long), failed
    assert all("0002" in failed[name].text and "0003" not in failed[name].get("message")
               for name in long), {name: failed[name].text for name in long}


def test_adding_a_nullable_column_is_timed_but_not_warned_about(rehearsed):
    [found] = _found(rehearsed, "0003")
    assert (found["code"], found["severity"], found["object"]) == ("rehearse-timed", "info", "public.items")
    assert "at the declared 5,000,000 rows" in found["message"]


def test_the_summary_says_how_the_volumes_were_scaled(rehearsed):
    summary = rehearsed.stage("rehearse")["summary"]
    assert "2 of 2 revision(s) timed on rows" in summary
    assert f"at most {scale.LARGEST_ROWS:,} rows inserted per rehearsal" in summary
    assert "straight line in rows" in summary


NUMBER = r"([\d,.]+(?:e[-+]?\d+)?)"
REPORTED = re.compile(rf"for {NUMBER} ms at {NUMBER} rows \({NUMBER} ms at {NUMBER}\); "
                      rf"estimated {NUMBER} ms at the declared {NUMBER} rows "
                      rf"\(ms = {NUMBER} \+ {NUMBER} × rows\)")


def _bounds(text: str, digits: int | None) -> tuple[float, float]:
    """What a printed number was rounded from: to a whole number (`digits` None) or to that
    many significant digits."""
    value = float(text.replace(",", ""))
    half = 0.5 if digits is None else 0.5 * 10 ** (math.floor(math.log10(value)) - digits + 1) if value else 0
    return value - half, value + half


def _ms(text: str) -> tuple[float, float]:
    """A time as the findings print it: whole milliseconds from 10 on, else two digits."""
    return _bounds(text, None if float(text.replace(",", "")) >= 10 else 2)


def test_the_estimate_is_the_straight_line_through_the_two_timings_it_reports(rehearsed):
    # Arithmetic on the printed numbers only: the time at the declared volume is the line
    # through the two timings, carried there (whatever the timings were on this machine).
    [found] = _found(rehearsed, "0002")
    reported = REPORTED.search(found["message"])
    assert reported, found["message"]
    ms_b, rows_b, ms_a, rows_a, estimate, declared, fixed, per_row = reported.groups()
    rows_a, rows_b, declared = (int(n.replace(",", "")) for n in (rows_a, rows_b, declared))
    assert (rows_a * scale.SMALLER, declared) == (rows_b, 5_000_000)
    estimate = _ms(estimate)
    (fixed_lo, fixed_hi), (slope_lo, slope_hi) = _bounds(fixed, 3), _bounds(per_row, 3)
    assert fixed_lo + slope_lo * declared <= estimate[1] and estimate[0] <= fixed_hi + slope_hi * declared
    # The line rises with the larger timing and falls with the smaller one: the ends of what
    # they were rounded from bound the estimate.
    (a_lo, a_hi), (b_lo, b_hi) = _ms(ms_a), _ms(ms_b)
    lowest = through((rows_a, a_hi), (rows_b, b_lo)).at(declared)
    highest = through((rows_a, a_lo), (rows_b, b_hi)).at(declared)
    assert lowest <= estimate[1] and estimate[0] <= highest, (found["message"], lowest, highest)


def test_the_json_report_holds_each_timed_table_and_its_statements(rehearsed):
    rehearsal = rehearsed.stage("rehearse")["rehearsal"]
    factor = scale.LARGEST_ROWS / 5_000_000  # items is the only table filled
    assert rehearsal["scale"] == {
        "described": f"{factor:.3g} of the declared volumes (at most {scale.LARGEST_ROWS:,} rows inserted "
                     f"per rehearsal), and 1/{scale.SMALLER} of that",
        "factor": factor, "limited_by": "rows"}
    assert (rehearsal["max_lock_ms"], rehearsal["not_rehearsed"]) == (1000, [])
    assert [r["revision"] for r in rehearsal["revisions"]] == ["0002", "0003"]
    rewrite = _timed(rehearsed, "0002")
    sizes = [scale.LARGEST_ROWS // scale.SMALLER, scale.LARGEST_ROWS]
    keys = ("table", "lock", "blocks", "rows", "declared_rows", "over_max_lock_ms")
    assert {key: rewrite[key] for key in keys} == {
        "table": "public.items", "lock": "ACCESS EXCLUSIVE", "blocks": "reads and writes", "rows": sizes,
        "declared_rows": 5_000_000, "over_max_lock_ms": True}
    assert len(rewrite["held_ms"]) == 2 and all(ms > 0 for ms in rewrite["held_ms"]), rewrite
    assert rewrite["estimate_ms"] > 1000
    assert rewrite["estimate_ms"] == pytest.approx(rewrite["fixed_ms"] + rewrite["per_row_ms"] * 5_000_000,
                                                   abs=0.001)
    assert rewrite["scaling"] == f"ms = {rewrite['fixed_ms']:.3g} + {rewrite['per_row_ms']:.3g} × rows"
    alter_text = "ALTER TABLE items ALTER COLUMN n TYPE BIGINT"
    [alter] = [s for s in rewrite["statements"] if s["text"] == alter_text]
    assert len(alter["ms"]) == 2 and all(ms > 0 for ms in alter["ms"]) and alter["estimate_ms"] > 0, alter
    assert all("pg_backend_pid" not in s["text"] for s in rewrite["statements"])
    # The warning says the same numbers.
    [found] = _found(rehearsed, "0002")
    assert (f"estimated {milliseconds(rewrite['estimate_ms'])} at the declared 5,000,000 rows "
            f"({rewrite['scaling']})") in found["message"]
    added = _timed(rehearsed, "0003")
    assert (added["table"], added["rows"], added["over_max_lock_ms"]) == ("public.items", sizes, False)
    assert added["estimate_ms"] > 0


def _shape(value):
    """The keys at every level of a JSON value (a list's by its first item)."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    return [_shape(value[0])] if isinstance(value, list) and value else None


def test_the_json_fields_are_the_ones_the_manual_lists(rehearsed):
    [documented] = [json.loads(body) for body in snippets("json", [DOCS / "ci.md"]) if '"rehearsal"' in body]
    [stage] = documented["stages"]
    assert _shape(stage["rehearsal"]) == _shape(rehearsed.stage("rehearse")["rehearsal"])


def test_the_html_report_shows_each_revisions_estimate_marked_over_max_lock_ms(rehearsed):
    cells = rehearsed.html
    assert "Lock held at the declared volume (rehearse)" in cells.headings
    assert cells.over == {"0002"}
    estimate = milliseconds(_timed(rehearsed, "0002")["estimate_ms"])
    assert (f"over max_lock_ms (1000): ACCESS EXCLUSIVE on public.items for {estimate} at 5,000,000 rows"
            "slowest statement: ALTER TABLE items ALTER COLUMN n TYPE BIGINT (") in cells.cells["0002"]
    added = milliseconds(_timed(rehearsed, "0003")["estimate_ms"])
    assert cells.cells["0003"].startswith(f"ACCESS EXCLUSIVE on public.items for {added} at 5,000,000 rows")
    assert cells.cells["0001"] == "-"  # it creates the table: nothing waits on it


def test_a_budget_reached_names_what_was_not_rehearsed(pg_server, tmp_path):
    project = _project(tmp_path / "project", "rehearse_budget = 0.001\n")
    result = _rehearse(pg_server, project, tmp_path / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    [found] = result.findings("rehearse")
    assert (found["code"], found["severity"]) == ("rehearse-budget", "warning")
    assert "not rehearsed: revision(s) 0002, 0003" in found["message"]
    rehearsal = result.stage("rehearse")["rehearsal"]
    assert rehearsal["not_rehearsed"] == ["0002", "0003"]
    assert (rehearsal["revisions"], rehearsal["scale"]) == ([], None)
    assert result.html.cells["0002"] == "not rehearsed: the rehearse_budget ran out"


def test_the_disk_budget_scales_the_volume_down(pg_server, tmp_path):
    project = _project(tmp_path / "project", 'volumes = { items = 5_000_000 }\nrehearse_disk = "2MB"\n'
                                             "rehearse_budget = 600\n")
    result = _rehearse(pg_server, project, tmp_path / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    assert "(the rehearse_disk budget)" in result.stage("rehearse")["summary"]
    for found in result.findings("rehearse"):
        rows = int(re.search(r"at ([\d,]+) rows \(", found["message"]).group(1).replace(",", ""))
        assert 0 < rows < 2 * 1024 * 1024 / 2 / 28  # never more than the budget holds at the smallest row


def test_choose_keeps_within_the_disk_budget():
    sizes = scale.choose({"public.orders": 5_000_000, "public.users": 100_000},
                         {"public.orders": 100, "public.users": 50}, disk_bytes=10_000_000)
    assert sizes.limited_by == "disk"
    assert sizes.disk_bytes <= 10_000_000
    assert sizes.larger["public.orders"] / sizes.larger["public.users"] == pytest.approx(50, rel=0.01)
    assert sizes.smaller["public.orders"] == sizes.larger["public.orders"] // scale.SMALLER


@pytest.mark.parametrize(("setting", "fragment"), [
    ('volumes = { items = "lots" }', "volumes: items must be a whole number of rows"),
    ("volumes = 5", "volumes must be a table of table names to row counts"),
    ('rehearse_disk = "big"', "rehearse_disk must be a size such as"),
    ("max_lock_ms = -1", "max_lock_ms must be a number of milliseconds above 0"),
])
def test_a_bad_setting_is_a_one_line_error(pg_server, tmp_path, setting, fragment):
    project = _project(tmp_path / "project", setting + "\n")
    result = _rehearse(pg_server, project, tmp_path / "report.json")
    assert_usage_error(result, fragment)


def test_rows_the_revision_cannot_take_and_tables_the_generator_cannot_fill_are_named(pg_server, tmp_path):
    history = [
        Rev("0001", None, 'op.create_table("items", sa.Column("id", sa.Integer, primary_key=True))\n'
                          'op.execute("CREATE TABLE odd (n integer NOT NULL CHECK (n < 0))")'),
        Rev("0002", "0001", 'op.execute("ALTER TABLE odd ADD COLUMN note text")'),
        Rev("0003", "0002", 'op.add_column("items", sa.Column("must", sa.Integer, nullable=False))'),
    ]
    project = build_project(tmp_path / "project", history, models=MODELS, settings="rehearse_budget = 600\n",
                            files={"migrations/env.py": per_migration_env("sync_template")})
    result = _rehearse(pg_server, project, tmp_path / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    codes = {(f["revision"], f["code"], f["object"]) for f in result.findings("rehearse")}
    assert ("0002", "rehearse-unfilled", "public.odd") in codes
    assert ("0002", "rehearse-timed", "public.odd") in codes
    [failed] = result.findings("rehearse", "rehearse-failed")
    assert failed["revision"] == "0003"
    assert 'column "must" of relation "items" contains null values' in failed["message"]
    entries = {r["revision"]: r for r in result.stage("rehearse")["rehearsal"]["revisions"]}
    assert entries["0002"]["unfilled"] == ["public.odd"]
    assert [t["table"] for t in entries["0002"]["tables"]] == ["public.odd"]
    assert entries["0003"]["tables"] == []
    assert entries["0003"]["failed"].endswith('column "must" of relation "items" contains null values')
    assert "rehearsed with public.odd empty" in result.html.cells["0002"]
    assert result.html.cells["0003"] == f"failed on tables with rows: {entries['0003']['failed']}"


def test_each_statement_is_estimated_and_the_suites_own_are_left_out(rehearsed):
    [found] = _found(rehearsed, "0002")
    assert "by statement, at the declared volume: ALTER TABLE items ALTER COLUMN n TYPE BIGINT (" \
        in found["message"]
    assert "pg_backend_pid" not in found["message"]
