"""From two timings to the time at production size: a straight line through them, in rows.

A rewrite, a full scan or an index build does work per row: its time grows in proportion to
the rows, plus what it costs whatever the size (the catalog change, the commit). A catalog
change alone costs the same at any size: the line through its two timings is flat. The line
is anchored at the larger size's timing, the steadier of the two; a slope the noise made
negative counts as none.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    fixed_ms: float  # what it costs whatever the size
    per_row_ms: float

    def at(self, rows: int) -> float:
        return self.fixed_ms + self.per_row_ms * rows

    def describe(self) -> str:
        return f"ms = {self.fixed_ms:.3g} + {self.per_row_ms:.3g} × rows"


def through(smaller: tuple[int, float], larger: tuple[int, float]) -> Line:
    """The line through (rows, ms) at the two sizes."""
    (rows_a, ms_a), (rows_b, ms_b) = sorted((smaller, larger))
    slope = max(0.0, (ms_b - ms_a) / (rows_b - rows_a)) if rows_b > rows_a else 0.0
    return Line(max(0.0, ms_b - slope * rows_b), slope)
