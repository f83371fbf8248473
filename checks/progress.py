"""Progress for long stages: a live line in a terminal, sparse plain lines in CI logs."""

from __future__ import annotations

import sys
import time
from typing import TextIO

QUIET_FOR_S = 2.0  # short stages print nothing: progress is for the runs people wait on
PLAIN_EVERY_S = 5.0


class Progress:
    def __init__(self, enabled: bool = True, stream: TextIO | None = None) -> None:
        # Kept now: env.py's output is redirected while migrations run.
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self._stage_started: dict[str, float] = {}
        self._last_plain = 0.0
        self._line_open = False

    def step(self, stage: str, done: int, total: int, revision: str) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        started = self._stage_started.setdefault(stage, now)
        if now - started < QUIET_FOR_S:
            return
        text = f"  {stage}: revision {done}/{total} ({revision})"
        if self.live:
            self.stream.write("\r\033[K" + text)
            self._line_open = True
        elif now - self._last_plain >= PLAIN_EVERY_S or done == total:
            self.stream.write(text + "\n")
            self._last_plain = now
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line of its own (a revision running long), kept in the log even in a terminal."""
        if not self.enabled:
            return
        self.clear()
        self.stream.write(text + "\n")
        self.stream.flush()

    def clear(self) -> None:
        if self._line_open:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._line_open = False
