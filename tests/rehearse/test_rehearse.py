"""rehearse: each revision that locks a table before it is timed on tables filled with rows, at
two sizes scaled down from the declared volumes, and its lock time estimated at full size.

One history: a revision that changes a column's type (PostgreSQL rewrites the table under
ACCESS EXCLUSIVE: the time grows with the rows) and one that adds a nullable column (a
change of the catalog alone: the same time at any size).
"""

from __future__ import annotations

import re
import time

import pytest
from cli_support import run_cli
from projects import Rev, assert_usage_error, build_project, per_migration_env

from checks.project.project import Project
from checks.rehearse import scale
from checks.rehearse.estimate import through
from checks.rehearse.timing import Rehearsal
from checks.run import Run

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


def _project(root, settings: str = "") -> Project:
    return build_project(root, HISTORY, models=MODELS, settings=settings,
                         files={"migrations/env.py": per_migration_env("sync_template")})


def _rehearse(pg_server, project, report):
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    return run_cli("verify", "--project", str(project), "--stage", "rehearse", "-v", url=url, report=report)


@pytest.fixture(scope="module")
def rehearsed(pg_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("rehearse")
    project = _project(root / "project", "volumes = { items = 5_000_000 }\nrehearse_budget = 600\n")
    result = _rehearse(pg_server, project, root / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    return result


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


def test_adding_a_nullable_column_is_timed_but_not_warned_about(rehearsed):
    [found] = _found(rehearsed, "0003")
    assert (found["code"], found["severity"], found["object"]) == ("rehearse-timed", "info", "public.items")
    assert "at the declared 5,000,000 rows" in found["message"]


def test_the_summary_says_how_the_volumes_were_scaled(rehearsed):
    summary = rehearsed.stage("rehearse")["summary"]
    assert "2 of 2 revision(s) timed on rows" in summary
    assert f"at most {scale.LARGEST_ROWS:,} rows inserted per rehearsal" in summary
    assert "straight line in rows" in summary


def test_the_estimate_from_smaller_sizes_holds_at_a_larger_one(pg_server, tmp_path):
    run = Run(Project(_project(tmp_path / "project")), pg_server)
    build = run.build()
    rehearsal = Rehearsal(run, build.order, 1, time.monotonic() + 600)
    try:
        timings = [rehearsal.time_at({"public.items": rows}, {"public.items"})
                   for rows in (100_000, 200_000, 400_000)]
    finally:
        rehearsal.close()
    held = [(timing.rows["public.items"], timing.held_ms["public.items"]) for timing in timings]
    line = through(held[0], held[1])
    measured = held[2][1]
    assert measured / 2 <= line.at(400_000) <= measured * 2, (held, line)


def test_a_budget_reached_names_what_was_not_rehearsed(pg_server, tmp_path):
    project = _project(tmp_path / "project", "rehearse_budget = 0.001\n")
    result = _rehearse(pg_server, project, tmp_path / "report.json")
    assert result.code == 0, result.stdout + result.stderr
    [found] = result.findings("rehearse")
    assert (found["code"], found["severity"]) == ("rehearse-budget", "warning")
    assert "not rehearsed: revision(s) 0002, 0003" in found["message"]


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


def test_each_statement_is_estimated_and_the_suites_own_are_left_out(rehearsed):
    [found] = _found(rehearsed, "0002")
    assert "by statement, at the declared volume: ALTER TABLE items ALTER COLUMN n TYPE BIGINT (" \
        in found["message"]
    assert "pg_backend_pid" not in found["message"]
