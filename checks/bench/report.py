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


def _ratio(a: Measurement, b: Measurement) -> float | None:
    return a.median / b.median if a.median and b.median else None


def targets(floor: Measurement, verify: Measurement, peer: Measurement,
            starts: list[Measurement]) -> list[Target]:
    by_name = {m.name: m for m in starts}
    return [
        Target("verify / floor", _ratio(verify, floor), 3.0, "x"),
        Target("verify / pytest-alembic", _ratio(verify, peer), 0.5, "x"),
        Target("local warm start", by_name["local warm"].median, 1.0, "s"),
        Target("compose start", by_name["compose"].median, 5.0, "s"),
    ]


def _cell(m: Measurement) -> str:
    if m.skipped:
        return f"skipped: {m.skipped}"
    runs = " ".join(f"{r:.2f}" for r in m.runs)
    return f"{m.median:8.2f}s   ({runs})"


def print_table(out: TextIO, project: GeneratedProject, server: str, repeat: int,
                rows: list[tuple[str, Measurement]], goals: list[Target]) -> None:
    out.write(f"\nbench: {project.revisions} revisions, {project.tables} tables; {server}; "
              f"median of {repeat}\n\n")
    width = max(len(label) for label, _ in rows) + 2
    for label, m in rows:
        out.write(f"  {label:<{width}}{_cell(m)}\n")
        for part, seconds in m.part_medians().items():
            out.write(f"  {'  ' + part:<{width}}{seconds:8.2f}s\n")
    out.write("\n")
    for goal in goals:
        if goal.value is None:
            out.write(f"  {goal.name:<{width}}    n/a      (target <= {goal.limit:g}{goal.unit})\n")
            continue
        verdict = "met" if goal.met else "MISSED"
        shown = f"{goal.value:.2f}{goal.unit}"
        out.write(f"  {goal.name:<{width}}{shown:>9}      (target <= {goal.limit:g}{goal.unit}: {verdict})\n")
    out.flush()


def write_json(path: Path, project: GeneratedProject, server: dict, repeat: int,
               rows: list[tuple[str, Measurement]], goals: list[Target]) -> None:
    data = {
        "project": {"revisions": project.revisions, "tables": project.tables, "head": project.head},
        "server": server,
        "repeat": repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(), "load_average": [round(x, 2) for x in os.getloadavg()]},
        "measurements": {key: m.to_json() for key, m in rows},
        "ratios": {"verify_over_floor": goals[0].to_json()["value"],
                   "verify_over_pytest_alembic": goals[1].to_json()["value"]},
        "targets": [g.to_json() for g in goals],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
