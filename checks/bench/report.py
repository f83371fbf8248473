"""The bench's table, ratios, margins and targets, on the console and as JSON."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from checks.bench.measure import Measurement
from checks.bench.project import GeneratedProject
from checks.bench.rehearsal import FACTOR, Accuracy
from checks.bench.steps import StepSummary, summarize

MAIN_SIZE = 200  # where the ratio targets are stated, when it is measured
# Where each target is stated, when measured (else at the largest size measured).
FLOOR_SIZES = (MAIN_SIZE, 2000)
PULL_REQUEST_SIZES = (MAIN_SIZE, 500)
RSS_LIMITS_MB = {500: 250.0, 2000: 400.0}
SHOWN_STEPS = 5  # of the slowest share, named on the console (the JSON has them all)


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    limit: float
    unit: str  # "x" for a ratio, "s" for seconds
    lower: float | None = None  # where the value must not fall below either

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        return self.value <= self.limit and (self.lower is None or self.value >= self.lower)

    def to_json(self) -> dict:
        return {"name": self.name, "value": None if self.value is None else round(self.value, 3),
                "limit": self.limit, **({"lower": self.lower} if self.lower is not None else {}),
                "met": self.met}

    def verdict(self) -> str:
        limit = f"target <= {self.limit:g}{self.unit}" if self.lower is None else \
            f"target {self.lower:g}{self.unit} to {self.limit:g}{self.unit}"
        if self.value is None:
            return f"n/a ({limit})"
        shown = f"{self.value:.0f}" if self.unit == " MB" else f"{self.value:.2f}"
        return f"{shown}{self.unit} ({limit}: {'met' if self.met else 'MISSED'})"


@dataclass
class SizeResult:
    """Every command measured on one generated history."""

    project: GeneratedProject
    rows: list[tuple[str, str, Measurement]]  # (key, label, measurement)

    def get(self, key: str) -> Measurement | None:
        return next((m for k, _, m in self.rows if k == key), None)

    def over_floor(self, key: str) -> float | None:
        return ratio(self.get(key), self.get("floor"))

    def ratios(self) -> dict[str, float | None]:
        return {"verify_over_floor": self.over_floor("verify"),
                "verify_over_pytest_alembic": ratio(self.get("verify"), self.get("pytest_alembic")),
                "pull_request_over_floor": self.over_floor("pull_request")}

    def steps(self) -> StepSummary | None:
        verify = self.get("verify")
        return summarize(verify.steps) if verify is not None else None


def ratio(a: Measurement | None, b: Measurement | None) -> float | None:
    if a is None or b is None:
        return None
    return a.median / b.median if a.median and b.median else None


def fit(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """The least-squares line through (x, y) points, as (intercept, slope); None without
    two distinct x."""
    if len({x for x, _ in points}) < 2:
        return None
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = (sum((x - mean_x) * (y - mean_y) for x, y in points)
             / sum((x - mean_x) ** 2 for x, _ in points))
    return mean_y - slope * mean_x, slope


@dataclass(frozen=True)
class Margins:
    """Verify against the floor, split into what each costs per revision and once per run:
    the ratio of their slopes and the difference of their intercepts over the sizes."""

    sizes: tuple[int, ...]
    verify: tuple[float, float] | None  # (seconds once, seconds per revision)
    floor: tuple[float, float] | None

    @property
    def marginal_ratio(self) -> float | None:
        if self.verify is None or self.floor is None or self.floor[1] <= 0:
            return None
        return self.verify[1] / self.floor[1]

    @property
    def fixed_overhead_s(self) -> float | None:
        if self.verify is None or self.floor is None:
            return None
        return self.verify[0] - self.floor[0]

    @property
    def span(self) -> str:
        return f"{self.sizes[0]} to {self.sizes[-1]}" if len(self.sizes) > 1 else "needs two sizes"

    def to_json(self) -> dict:
        def line(fitted):
            return None if fitted is None else {"fixed_s": round(fitted[0], 3), "per_revision_ms":
                                                round(fitted[1] * 1000, 3)}

        def rounded(value: float | None) -> float | None:
            return None if value is None else round(value, 3)

        return {"sizes": list(self.sizes), "verify": line(self.verify), "floor": line(self.floor),
                "marginal_ratio": rounded(self.marginal_ratio),
                "fixed_overhead_s": rounded(self.fixed_overhead_s)}


def margins(sizes: list[SizeResult]) -> Margins:
    def line(key: str) -> tuple[float, float] | None:
        return fit([(s.project.revisions, m.median) for s in sizes
                    if (m := s.get(key)) is not None and m.median])

    return Margins(tuple(sorted(s.project.revisions for s in sizes)), line("verify"), line("floor"))


def main_size(sizes: list[SizeResult]) -> SizeResult:
    """The size the ratio targets are stated at: 200 revisions, else the largest measured."""
    return next((s for s in sizes if s.project.revisions == MAIN_SIZE), max(sizes, key=_revisions))


def _revisions(size: SizeResult) -> int:
    return size.project.revisions


def _at(sizes: list[SizeResult], wanted) -> list[SizeResult]:
    """The sizes among `wanted` that were measured, else the largest one."""
    found = [s for s in sizes if s.project.revisions in wanted]
    return found or [max(sizes, key=_revisions)]


def targets(sizes: list[SizeResult], starts: list[Measurement],
            rehearsed: Accuracy | None = None) -> list[Target]:
    """`rehearsed`: the rehearse estimate put to the test, when the bench ran it."""
    by_name = {m.name: m for m in starts}
    main = main_size(sizes)
    n = main.project.revisions
    goals = [Target(f"verify / floor at {s.project.revisions}", s.over_floor("verify"), 3.0, "x")
             for s in _at(sizes, FLOOR_SIZES)]
    goals.append(Target(f"verify / pytest-alembic at {n}", main.ratios()["verify_over_pytest_alembic"],
                        0.5, "x"))
    goals += [Target(f"pull request (warm cache) / floor at {s.project.revisions}",
                     s.over_floor("pull_request"), 1.0, "x") for s in _at(sizes, PULL_REQUEST_SIZES)]
    margin = margins(sizes)
    goals += [
        Target(f"verify per revision / floor per revision, {margin.span}", margin.marginal_ratio, 2.5, "x"),
        Target(f"verify's fixed cost - the floor's, {margin.span}", margin.fixed_overhead_s, 1.0, "s"),
    ]
    small, large = min(sizes, key=_revisions), max(sizes, key=_revisions)
    if large is not small:
        low, high = small.steps(), large.steps()
        growth = high.slowest_from_s / low.slowest_from_s if low and high and low.slowest_from_s else None
        goals.append(Target(f"slowest 1% of steps at {large.project.revisions} / at "
                            f"{small.project.revisions}", growth, 1.5, "x"))
    for size in _at(sizes, RSS_LIMITS_MB):
        verify = size.get("verify")
        goals.append(Target(f"verify peak RSS at {size.project.revisions}", verify.rss_mb if verify else None,
                            RSS_LIMITS_MB.get(size.project.revisions, 250.0), " MB"))
    # What measuring each revision's locks, rewrites and scans adds to the fresh build.
    goals.append(Target(f"verify / verify with measure = false at {n}",
                        ratio(main.get("verify"), main.get("verify_unmeasured")), 1.1, "x"))
    goals += [
        Target("local warm start", by_name["local warm"].median, 1.0, "s"),
        Target("compose start", by_name["compose"].median, 5.0, "s"),
    ]
    if rehearsed is not None:
        goals.append(Target(rehearsed.target_name(), rehearsed.ratio, FACTOR, "x", lower=1 / FACTOR))
    return goals


def _cell(m: Measurement) -> str:
    if m.skipped:
        return f"skipped: {m.skipped}"
    runs = " ".join(f"{r:.2f}" for r in m.runs)
    rss = f"   peak RSS {m.rss_mb:.0f} MB" if m.rss_mb else ""
    fell = f"   split fell back {m.fallbacks[0]} of {m.fallbacks[1]}" if m.fallbacks else ""
    return f"{m.median:8.2f}s   ({runs}){rss}{fell}"


def describe_steps(steps: StepSummary, positions: dict[str, int], shown: int = SHOWN_STEPS) -> str:
    """One line on the slowest share of the steps: where it begins, and the slowest of them
    (stage, the revision's number in the history, milliseconds)."""
    named = ", ".join(f"{s.stage} #{positions.get(s.revision, '?')} {s.seconds * 1000:.0f} ms"
                      for s in steps.slowest[:shown])
    return (f"slowest 1% of {steps.count} steps: {len(steps.slowest)} from "
            f"{steps.slowest_from_s * 1000:.0f} ms (median step {steps.median_s * 1000:.0f} ms); {named}")


def print_table(out: TextIO, sizes: list[SizeResult], starts: list[Measurement], server: str, repeat: int,
                goals: list[Target], rehearsed: Accuracy | None = None) -> None:
    out.write(f"\nbench: {server}; median of {repeat}\n")
    labels = [label for size in sizes for _, label, _ in size.rows]
    labels += [f"server start: {m.name}" for m in starts]
    width = max(len(label) for label in labels + [g.name for g in goals]) + 2
    for size in sizes:
        out.write(f"\n{size.project.revisions} revisions, {size.project.tables} tables\n")
        for key, label, m in size.rows:
            out.write(f"  {label:<{width}}{_cell(m)}\n")
            for part, seconds in m.part_medians().items():
                out.write(f"  {'  ' + part:<{width}}{seconds:8.2f}s\n")
            steps = summarize(m.steps) if key == "verify" else None
            if steps is not None:
                out.write(f"    {describe_steps(steps, size.project.positions())}\n")
        for name, value in size.ratios().items():
            shown = "n/a" if value is None else f"{value:.2f}x"
            out.write(f"  {name.replace('_over_', ' / ').replace('_', '-'):<{width}}{shown:>8}\n")
    out.write("\n")
    for m in starts:
        out.write(f"  {'server start: ' + m.name:<{width}}{_cell(m)}\n")
    out.write("\n")
    for line in summary_table(sizes):
        out.write(line + "\n")
    out.write("\n")
    if rehearsed is not None:
        out.write(f"  {rehearsed.describe()}\n\n")
    for goal in goals:
        out.write(f"  {goal.name:<{width}}{goal.verdict()}\n")
    out.flush()


def summary_table(sizes: list[SizeResult]) -> list[str]:
    """Every size side by side, as a Markdown table (the performance page shows one)."""
    ordered = sorted(sizes, key=_revisions)
    parts = ("fresh", "drift", "roundtrip", "lint")

    def seconds(key: str) -> Callable[[SizeResult], str]:
        def cell(size: SizeResult) -> str:
            m = size.get(key)
            return "—" if m is None or m.median is None else f"{m.median:.2f} s"
        return cell

    def stage_parts(size: SizeResult) -> str:
        medians = size.get("verify").part_medians()
        return " / ".join(f"{medians[p]:.2f}" if p in medians else "—" for p in parts)

    def fallbacks(size: SizeResult) -> str:
        fell = size.get("verify").fallbacks
        return "—" if fell is None else f"{fell[0]} of {fell[1]}"

    def rss(size: SizeResult) -> str:
        value = size.get("verify").rss_mb
        return "—" if value is None else f"{value:.0f} MB"

    def times(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}×"

    def steps(size: SizeResult) -> str:
        summary = size.steps()
        return "—" if summary is None else (f"{summary.slowest_from_s * 1000:.0f} ms / "
                                            f"{summary.median_s * 1000:.0f} ms")

    rows: list[tuple[str, Callable[[SizeResult], str]]] = [
        ("floor: `alembic upgrade head`", seconds("floor")),
        ("verify, every stage", seconds("verify")),
        ("&nbsp;&nbsp;" + " / ".join(parts), stage_parts),
        ("verify, round trip in one process", seconds("verify_one_process")),
        ("verify, `measure = false`", seconds("verify_unmeasured")),
        ("pytest-alembic, 4 default tests", seconds("pytest_alembic")),
        ("verify `--since` (1 new revision, warm `--cache`)", seconds("pull_request")),
        ("split fell back (clean history: 0)", fallbacks),
        ("peak RSS of verify", rss),
        ("verify / floor", lambda s: times(s.over_floor("verify"))),
        ("verify / pytest-alembic", lambda s: times(s.ratios()["verify_over_pytest_alembic"])),
        ("pull request / floor", lambda s: times(s.over_floor("pull_request"))),
        ("verify's steps: slowest 1% from / median", steps),
    ]
    lines = ["| measurement | " + " | ".join(f"{s.project.revisions} revisions" for s in ordered) + " |",
             "| --- |" + " ---: |" * len(ordered)]
    lines += [f"| {label} | " + " | ".join(cell(s) for s in ordered) + " |" for label, cell in rows]
    return lines


def write_json(path: Path, sizes: list[SizeResult], starts: list[Measurement], server: dict, repeat: int,
               goals: list[Target], rehearsed: Accuracy | None = None) -> None:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    def measurements(size: SizeResult) -> dict:
        positions = size.project.positions()
        return {key: m.to_json(positions) for key, _, m in size.rows}

    main = main_size(sizes)
    start_rows = {f"start_{m.name.replace(' ', '_')}": m.to_json() for m in starts}
    data = {
        # The main size at the top level, as one-size benches wrote it; every size below.
        "project": {"revisions": main.project.revisions, "tables": main.project.tables,
                    "head": main.project.head},
        "server": server,
        "repeat": repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average": [round(x, 2) for x in os.getloadavg()]},
        "measurements": {**measurements(main), **start_rows},
        "ratios": {name: rounded(value) for name, value in main.ratios().items()},
        "sizes": [{"revisions": s.project.revisions, "tables": s.project.tables,
                   "measurements": measurements(s),
                   "ratios": {name: rounded(value) for name, value in s.ratios().items()}} for s in sizes],
        "margins": margins(sizes).to_json(),
        "targets": [g.to_json() for g in goals],
        **({"rehearse": rehearsed.to_json()} if rehearsed is not None else {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
