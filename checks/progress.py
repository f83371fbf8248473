"""Progress for long stages: a live line in a terminal, sparse plain lines in CI logs.

Every step of every walk ends here, so this is also where what the run holds is moved out
of the garbage collector's way (SETTLE_EVERY).

With ALEMBIC_PREFLIGHT_STEP_TIMES=FILE, every step is also appended to FILE as it ends,
one tab-separated line (process, stage, done, total, revision, seconds on a monotonic
clock), workers' steps included: the bench reads per-step costs from it.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from typing import TextIO

QUIET_FOR_S = 2.0  # short stages print nothing: progress is for the runs people wait on
PLAIN_EVERY_S = 5.0
STEP_TIMES_ENV = "ALEMBIC_PREFLIGHT_STEP_TIMES"
# A walk keeps the schema it read after every step: a full collection of the garbage
# collector visits all of them, and takes longer the longer the history. Every so many steps
# the young garbage is collected and what is left frozen (gc.freeze): it is kept, not
# garbage, and later collections visit only what came after it.
SETTLE_EVERY = 64


class Progress:
    def __init__(self, enabled: bool = True, stream: TextIO | None = None) -> None:
        # Kept now: env.py's output is redirected while migrations run.
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self._stage_started: dict[str, float] = {}
        self._last_plain = 0.0
        self._line_open = False
        self._times = os.environ.get(STEP_TIMES_ENV) or None
        self._steps = 0

    def step(self, stage: str, done: int, total: int, revision: str) -> None:
        now = time.monotonic()
        self._steps += 1
        if self._steps % SETTLE_EVERY == 0:
            gc.collect(1)
            gc.freeze()
        if self._times is not None:
            self._record(stage, done, total, revision, now)
        if not self.enabled:
            return
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

    def _record(self, stage: str, done: int, total: int, revision: str, now: float) -> None:
        # One write of one line to a file opened for appending: the lines of a worker and of
        # this process never interleave within a line.
        line = f"{os.getpid()}\t{stage}\t{done}\t{total}\t{revision}\t{now:.6f}\n"
        fd = os.open(self._times, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

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
