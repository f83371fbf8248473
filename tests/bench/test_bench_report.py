"""The bench's arithmetic on measured numbers: margins, step costs, which targets at which size."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from checks.bench.measure import COMMANDS, Measurement
from checks.bench.project import GeneratedProject
from checks.bench.rehearsal import Accuracy
from checks.bench.report import (
    Margins,
    SizeResult,
    fit,
    margins,
    print_table,
    summary_table,
    targets,
    write_json,
)
from checks.bench.steps import Step, step_costs, summarize


def test_fit_is_the_least_squares_line():
    assert fit([(50, 1.5), (200, 3.0), (500, 6.0)]) == pytest.approx((1.0, 0.01))
    intercept, slope = fit([(0, 1.0), (1, 3.0), (2, 2.0)])
    assert (intercept, slope) == pytest.approx((1.5, 0.5))


def test_fit_needs_two_sizes():
    assert fit([]) is None
    assert fit([(200, 3.0), (200, 3.2)]) is None


def size(revisions: int, positions: tuple[str, ...] = (), **medians: float) -> SizeResult:
    """A measured size whose commands took these seconds (key=seconds), once each."""
    project = GeneratedProject(Path("/nowhere"), revisions, max(1, revisions * 3 // 10), "head", positions)
    rows = [(key, key, Measurement(key, runs=[seconds], peak_rss_mb=[100.0]))
            for key, seconds in medians.items()]
    return SizeResult(project, rows)


def test_margins_split_verify_and_floor_into_fixed_and_per_revision_costs():
    # verify: 2.0 s once and 12 ms per revision; the floor: 0.8 s once and 4 ms per revision.
    sizes = [size(n, floor=0.8 + 0.004 * n, verify=2.0 + 0.012 * n) for n in (50, 200, 500, 2000)]

    found = margins(sizes)

    assert found.sizes == (50, 200, 500, 2000)
    assert found.marginal_ratio == pytest.approx(3.0)
    assert found.fixed_overhead_s == pytest.approx(1.2)
    assert found.to_json() == {"sizes": [50, 200, 500, 2000],
                               "verify": {"fixed_s": 2.0, "per_revision_ms": 12.0},
                               "floor": {"fixed_s": 0.8, "per_revision_ms": 4.0},
                               "marginal_ratio": 3.0, "fixed_overhead_s": 1.2}


def test_margins_of_one_size_are_not_known():
    found = margins([size(200, floor=1.0, verify=2.0)])
    assert (found.marginal_ratio, found.fixed_overhead_s) == (None, None)
    free_floor = Margins((50, 200), (1.0, 0.01), (0.5, 0.0))  # a floor that costs nothing more per revision
    assert free_floor.marginal_ratio is None


def lines(*events: tuple[int, str, int, int, str, float]) -> str:
    return "".join("\t".join(str(field) for field in event) + "\n" for event in events)


def test_a_step_costs_the_time_since_the_step_before_it_in_its_walk():
    text = lines(
        (1, "fresh", 1, 3, "a", 10.0),  # the walk's first step: its start is not known
        (2, "roundtrip", 1, 2, "a", 10.05),  # a worker's walk, interleaved
        (1, "fresh", 2, 3, "b", 10.1),
        (2, "roundtrip", 2, 2, "b", 10.25),
        (1, "fresh", 3, 3, "c", 10.4),
        (2, "roundtrip", 1, 1, "b", 11.0),  # a new walk in the same process starts over
        (1, "roundtrip", 1, 3, "c", 12.0),
        (1, "roundtrip", 2, 3, "b", 12.5),
    )
    costs = [(s.stage, s.revision, round(s.seconds, 3)) for s in step_costs(text)]
    assert costs == [("fresh", "b", 0.1), ("roundtrip", "b", 0.2), ("fresh", "c", 0.3),
                     ("roundtrip", "b", 0.5)]


def test_unreadable_lines_are_passed_over():
    assert step_costs("half a line\n\n1\tfresh\t1\t2\ta\t1.0\n1\tfresh\t2\t2\tb\t1.5\n") == [
        Step("fresh", "b", 0.5)]


def test_the_slowest_one_percent_rounds_up():
    steps = [Step("fresh", f"r{i}", i / 1000) for i in range(1, 251)]
    summary = summarize(steps)
    assert summary.count == 250
    assert [s.revision for s in summary.slowest] == ["r250", "r249", "r248"]
    assert summary.slowest_from_s == pytest.approx(0.248)
    assert summary.median_s == pytest.approx(0.1255)
    assert summarize([Step("fresh", "a", 0.2)]).slowest == [Step("fresh", "a", 0.2)]
    assert summarize([]) is None
    assert summary.to_json({"r250": 250})["slowest"][0] == {"stage": "fresh", "revision": "r250",
                                                             "position": 250, "ms": 250.0}


STARTS = [Measurement("local warm", runs=[0.2]), Measurement("compose", skipped="no Docker")]
KEYS = ("floor", "verify", "pytest_alembic", "pull_request")


def full(n: int, step_s: float) -> SizeResult:
    measured = size(n, **{key: 1.0 + n / 100 for key in KEYS})
    measured.get("verify").steps = [Step("fresh", f"r{i}", step_s) for i in range(n)]
    return measured


def test_targets_are_stated_at_the_sizes_the_goals_name():
    sizes = [full(50, 0.02), full(200, 0.02), full(500, 0.025), full(2000, 0.04)]
    found = {t.name: t for t in targets(sizes, STARTS)}
    assert list(found) == [
        "verify / floor at 200", "verify / floor at 2000", "verify / pytest-alembic at 200",
        "pull request (warm cache) / floor at 200", "pull request (warm cache) / floor at 500",
        "verify per revision / floor per revision, 50 to 2000",
        "verify's fixed cost - the floor's, 50 to 2000",
        "slowest 1% of steps at 2000 / at 50", "verify peak RSS at 500", "verify peak RSS at 2000",
        "verify / verify with measure = false at 200", "local warm start", "compose start"]
    assert found["slowest 1% of steps at 2000 / at 50"].value == pytest.approx(2.0)
    assert found["slowest 1% of steps at 2000 / at 50"].met is False
    assert (found["verify peak RSS at 500"].limit, found["verify peak RSS at 2000"].limit) == (250.0, 400.0)
    assert found["verify per revision / floor per revision, 50 to 2000"].value == pytest.approx(1.0)
    assert found["verify's fixed cost - the floor's, 50 to 2000"].value == pytest.approx(0.0)
    assert found["compose start"].met is None


def test_small_benches_state_the_targets_at_their_largest_size():
    names = [t.name for t in targets([full(8, 0.01), full(16, 0.01)], STARTS)]
    assert "verify / floor at 16" in names and "pull request (warm cache) / floor at 16" in names
    assert "verify peak RSS at 16" in names and "slowest 1% of steps at 16 / at 8" in names
    one = [t for t in targets([full(16, 0.01)], STARTS) if t.name.startswith("verify per revision")]
    assert [(t.name, t.value, t.met) for t in one] == [
        ("verify per revision / floor per revision, needs two sizes", None, None)]


def test_slow_commands_stop_at_500_revisions():
    limits = {c.key: c.up_to for c in COMMANDS}
    assert limits["pytest_alembic"] == 500 and limits["floor"] is None and limits["verify"] is None
    peer = next(c for c in COMMANDS if c.key == "pytest_alembic")
    assert peer.skips(full(500, 0.01).project) is None
    assert peer.skips(full(2000, 0.01).project) == "measured up to 500 revisions"


def test_the_summary_has_a_column_per_size_and_a_dash_where_nothing_was_measured():
    small = full(50, 0.02)
    large = size(2000, floor=9.0, verify=30.0, pull_request=6.0)
    large.rows.append(("pytest_alembic", "pytest_alembic", Measurement("peer", skipped="measured up to 500")))
    table = summary_table([large, small])
    assert table[0] == "| measurement | 50 revisions | 2000 revisions |"
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table[2:]}
    assert rows["pytest-alembic, 4 default tests"].endswith("| 1.50 s | — |")
    assert rows["verify / floor"].endswith("| 1.00× | 3.33× |")
    assert rows["pull request / floor"].endswith("| 1.00× | 0.67× |")
    assert rows["verify's steps: slowest 1% from / median"].endswith("| 20 ms / 20 ms | — |")


def test_the_summary_has_verify_without_measuring_where_the_bench_ran_it():
    small = full(50, 0.02)
    small.rows.append(("verify_unmeasured", "verify, measure = false", Measurement("off", runs=[1.25])))
    large = size(2000, floor=9.0, verify=30.0)  # measured up to 500 revisions: not at 2000
    table = summary_table([small, large])
    rows = {line.split(" | ")[0].lstrip("| "): line for line in table[2:]}
    labels = list(rows)
    assert labels.index("verify, `measure = false`") == labels.index("verify, round trip in one process") + 1
    assert rows["verify, `measure = false`"] == "| verify, `measure = false` | 1.25 s | — |"
    out = io.StringIO()
    print_table(out, [small, large], STARTS, "PostgreSQL 17 (local)", 1, targets([small, large], STARTS))
    assert "| verify, `measure = false` | 1.25 s | — |" in out.getvalue()


def test_the_console_names_the_slowest_steps_and_every_verdict():
    sizes = [full(50, 0.02), full(200, 0.03)]
    sizes[1].get("verify").steps[-1] = Step("roundtrip", "r7", 0.5)
    out = io.StringIO()
    goals = targets(sizes, STARTS)
    print_table(out, sizes, STARTS, "PostgreSQL 17 (local)", 1, goals)
    text = out.getvalue()
    assert ("slowest 1% of 200 steps: 2 from 30 ms (median step 30 ms); roundtrip #? 500 ms, "
            "fresh #? 30 ms") in text
    assert "verify / floor at 200" in text and "(target <= 3x: met)" in text
    assert "verify's fixed cost - the floor's, 50 to 200" in text
    assert "compose start" in text and "n/a (target <= 5s)" in text


def rehearsed(measured_ms: float) -> Accuracy:
    """The estimate put to the test: 10 ms at 1,000 rows and 40 ms at 4,000 (a line of 0 ms and
    0.01 ms per row, so 160 ms at 16,000), and what 16,000 rows measured."""
    return Accuracy("abc123", 13, "public.suppliers", [(1_000, 10.0), (4_000, 40.0)], (16_000, measured_ms))


def test_the_rehearse_estimate_is_a_target_within_a_factor_either_way():
    sizes = [full(50, 0.02), full(200, 0.02)]
    close, under, over = (targets(sizes, STARTS, rehearsed(ms))[-1] for ms in (100.0, 400.0, 60.0))
    assert close.name == "rehearse estimate / measured at 16,000 rows"
    assert (close.value, close.lower, close.limit, close.met) == (pytest.approx(1.6), 0.5, 2.0, True)
    assert (under.value, under.met) == (pytest.approx(0.4), False)
    assert (over.value, over.met) == (pytest.approx(160 / 60), False)
    assert close.verdict() == "1.60x (target 0.5x to 2x: met)"
    assert close.to_json() == {"name": close.name, "value": 1.6, "limit": 2.0, "lower": 0.5, "met": True}
    assert targets(sizes, STARTS)[-1].name == "compose start"  # not run: no target


def test_the_console_and_the_json_show_the_rehearsal_numbers(tmp_path):
    sizes = [full(50, 0.02), full(200, 0.02)]
    found = rehearsed(100.0)
    goals = targets(sizes, STARTS, found)
    out = io.StringIO()
    print_table(out, sizes, STARTS, "PostgreSQL 17 (local)", 1, goals, found)
    text = out.getvalue()
    assert ("rehearse: revision #13 (abc123) on public.suppliers: 10.0 ms at 1,000 rows, 40.0 ms at 4,000; "
            "ms = 0 + 0.01 × rows gives 160.0 ms at 16,000, measured 100.0 ms") in text
    assert "rehearse estimate / measured at 16,000 rows" in text and "1.60x (target 0.5x to 2x: met)" in text
    path = tmp_path / "bench.json"
    write_json(path, sizes, STARTS, {"backend": "local"}, 1, goals, found)
    data = json.loads(path.read_text())
    assert data["rehearse"] == {"revision": "abc123", "position": 13, "table": "public.suppliers",
                                "timed": [{"rows": 1000, "ms": 10.0}, {"rows": 4000, "ms": 40.0}],
                                "line": {"fixed_ms": 0.0, "per_row_ms": 0.01}, "rows": 16000,
                                "estimate_ms": 160.0, "measured_ms": 100.0, "ratio": 1.6}
    assert Accuracy(skipped="nothing to time").describe() == "rehearse: skipped: nothing to time"
    assert targets(sizes, STARTS, Accuracy(skipped="nothing to time"))[-1].met is None
