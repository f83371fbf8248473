"""The bench's table, ratios and targets, on the console and as JSON."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from checks.bench.measure import Measurement
from checks.bench.project import GeneratedProject


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    limit: float
    unit: str  # "x" for a ratio, "s" for seconds

    @property
    def met(self) -> bool | None:
        return None if self.value is None else self.value <= self.limit

    def to_json(self) -> dict:
        return {"name": self.name, "value": None if self.value is None else round(self.value, 3),
                "limit": self.limit, "met": self.met}


@dataclass
class SizeResult:
    """Every command measured on one generated history."""

    project: GeneratedProject
    rows: list[tuple[str, str, Measurement]]  # (key, label, measurement)

    def get(self, key: str) -> Measurement:
        return next(m for k, _, m in self.rows if k == key)

    def ratios(self) -> dict[str, float | None]:
        verify = self.get("verify")
        return {"verify_over_floor": ratio(verify, self.get("floor")),
                "verify_over_pytest_alembic": ratio(verify, self.get("pytest_alembic"))}


def ratio(a: Measurement, b: Measurement) -> float | None:
    return a.median / b.median if a.median and b.median else None


def main_size(sizes: list[SizeResult]) -> SizeResult:
    """The size the ratio targets are stated at: 200 revisions, else the largest measured."""
    return next((s for s in sizes if s.project.revisions == 200), max(sizes, key=_revisions))


def _revisions(size: SizeResult) -> int:
    return size.project.revisions


def targets(sizes: list[SizeResult], starts: list[Measurement]) -> list[Target]:
    by_name = {m.name: m for m in starts}
    main = main_size(sizes)
    n = main.project.revisions
    small, large = min(sizes, key=_revisions), max(sizes, key=_revisions)
    goals = [
        Target(f"verify / floor at {n}", main.ratios()["verify_over_floor"], 3.0, "x"),
        Target(f"verify / pytest-alembic at {n}", main.ratios()["verify_over_pytest_alembic"], 0.5, "x"),
        # What measuring each revision's locks, rewrites and scans adds to the fresh build.
        Target(f"verify / verify with measure = false at {n}",
               ratio(main.get("verify"), main.get("verify_unmeasured")), 1.1, "x"),
    ]
    if large is not small:
        low, high = small.ratios()["verify_over_floor"], large.ratios()["verify_over_floor"]
        goals.append(Target(f"linearity: verify/floor at {large.project.revisions} over at "
                            f"{small.project.revisions}", high / low if low and high else None, 1.2, "x"))
    goals += [
        Target(f"verify peak RSS at {large.project.revisions}", large.get("verify").rss_mb, 250.0, " MB"),
        Target("local warm start", by_name["local warm"].median, 1.0, "s"),
        Target("compose start", by_name["compose"].median, 5.0, "s"),
    ]
    return goals


def _cell(m: Measurement) -> str:
    if m.skipped:
        return f"skipped: {m.skipped}"
    runs = " ".join(f"{r:.2f}" for r in m.runs)
    rss = f"   peak RSS {m.rss_mb:.0f} MB" if m.rss_mb else ""
    fell = f"   split fell back {m.fallbacks[0]} of {m.fallbacks[1]}" if m.fallbacks else ""
    return f"{m.median:8.2f}s   ({runs}){rss}{fell}"


def print_table(out: TextIO, sizes: list[SizeResult], starts: list[Measurement], server: str, repeat: int,
                goals: list[Target]) -> None:
    out.write(f"\nbench: {server}; median of {repeat}\n")
    labels = [label for size in sizes for _, label, _ in size.rows]
    labels += [f"server start: {m.name}" for m in starts]
    width = max(len(label) for label in labels + [g.name for g in goals]) + 2
    for size in sizes:
        out.write(f"\n{size.project.revisions} revisions, {size.project.tables} tables\n")
        for _, label, m in size.rows:
            out.write(f"  {label:<{width}}{_cell(m)}\n")
            for part, seconds in m.part_medians().items():
                out.write(f"  {'  ' + part:<{width}}{seconds:8.2f}s\n")
        for name, value in size.ratios().items():
            shown = "n/a" if value is None else f"{value:.2f}x"
            out.write(f"  {name.replace('_over_', ' / ').replace('_', '-'):<{width}}{shown:>8}\n")
    out.write("\n")
    for m in starts:
        out.write(f"  {'server start: ' + m.name:<{width}}{_cell(m)}\n")
    out.write("\n")
    for goal in goals:
        if goal.value is None:
            out.write(f"  {goal.name:<{width}}    n/a      (target <= {goal.limit:g}{goal.unit})\n")
            continue
        verdict = "met" if goal.met else "MISSED"
        shown = f"{goal.value:.2f}{goal.unit}"
        out.write(f"  {goal.name:<{width}}{shown:>9}      (target <= {goal.limit:g}{goal.unit}: {verdict})\n")
    out.flush()


def write_json(path: Path, sizes: list[SizeResult], starts: list[Measurement], server: dict, repeat: int,
               goals: list[Target]) -> None:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

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
        "measurements": {**{key: m.to_json() for key, _, m in main.rows}, **start_rows},
        "ratios": {name: rounded(value) for name, value in main.ratios().items()},
        "sizes": [{"revisions": s.project.revisions, "tables": s.project.tables,
                   "measurements": {key: m.to_json() for key, _, m in s.rows},
                   "ratios": {name: rounded(value) for name, value in s.ratios().items()}} for s in sizes],
        "targets": [g.to_json() for g in goals],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
