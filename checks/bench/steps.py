"""Per-step costs of a verify run, read from the step times it wrote (checks.progress).

A step is one revision of a walk: applied and read in the build, undone and redone on the
round trip's staircase. Its cost is the time from the step before it in the same walk, so
each walk's first step, which also pays for the walk's start, is not counted.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

SLOWEST_SHARE = 0.01  # the share of steps the bench names, slowest first


@dataclass(frozen=True)
class Step:
    stage: str
    revision: str
    seconds: float


@dataclass(frozen=True)
class _Event:
    process: str
    stage: str
    done: int
    total: int
    revision: str
    at: float


def parse_events(text: str) -> list[_Event]:
    events = []
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 6:
            process, stage, done, total, revision, at = fields
            events.append(_Event(process, stage, int(done), int(total), revision, float(at)))
    return events


def step_costs(text: str) -> list[Step]:
    """Each step's cost, from the lines of one run: a step follows the one before it in the
    same process and stage when it is the next of as many (a new walk starts over at 1)."""
    last: dict[tuple[str, str], _Event] = {}
    steps = []
    for event in parse_events(text):
        key = (event.process, event.stage)
        before = last.get(key)
        if before is not None and event.done == before.done + 1 and event.total == before.total:
            steps.append(Step(event.stage, event.revision, event.at - before.at))
        last[key] = event
    return steps


def read_steps(path: Path) -> list[Step]:
    return step_costs(path.read_text()) if path.exists() else []


@dataclass(frozen=True)
class StepSummary:
    count: int
    median_s: float
    slowest: list[Step]  # the slowest SLOWEST_SHARE of the steps, slowest first

    @property
    def slowest_from_s(self) -> float:
        """Where the slowest share begins: its fastest step."""
        return self.slowest[-1].seconds

    def to_json(self, positions: dict[str, int]) -> dict:
        return {"count": self.count, "median_ms": _ms(self.median_s),
                "slowest_from_ms": _ms(self.slowest_from_s),
                "slowest": [{"stage": s.stage, "revision": s.revision, "position": positions.get(s.revision),
                             "ms": _ms(s.seconds)} for s in self.slowest]}


def summarize(steps: list[Step], share: float = SLOWEST_SHARE) -> StepSummary | None:
    if not steps:
        return None
    ranked = sorted(steps, key=lambda s: s.seconds, reverse=True)
    return StepSummary(len(steps), statistics.median(s.seconds for s in steps),
                       ranked[:max(1, math.ceil(len(steps) * share))])


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
