"""Time limits for revisions, a heartbeat while one runs long, and ending one that hangs.

Without them, a revision waiting on a lock (or in pg_sleep, or a backfill) keeps the run
silent for as long as CI lets it, and then ends as a timeout nobody can read.

While env.py applies a list of revisions (`Project.run_steps`), a `RevisionWatch` keeps a
clock for the revision being applied. A thread of its own wakes a few times a second:
  - past the heartbeat threshold it says on the console which revision has run how long,
    at growing intervals, with what its database session is waiting for (the lock and the
    session holding it, read by `watcher.LockWatcher` on a second connection);
  - at the limit it settles the verdict (what the revision was waiting for), then ends the
    wait from the outside, strongest last:
      1. a running statement: pg_cancel_backend on the migration's session. The project's
         driver (psycopg, psycopg2, asyncpg) raises its own "canceling statement" error in
         the migrating thread, env.py unwinds and rolls back as on any failed statement.
         Nothing of ours interrupts the project's code: this is the common case.
      2. no statement (Python code in the revision: time.sleep, a busy loop, a connection
         of its own), or the cancel did not end it within a grace period: a signal sent
         to the migrating thread (the main thread), whose handler raises RevisionTimedOut.
         A real signal, not _thread.interrupt_main(): it also wakes time.sleep and select.
         A BaseException, so the project's `except Exception` cannot swallow it.
      3. still stuck after one more grace period (a C call waiting on a connection we did
         not cancel): pg_terminate_backend on the migration's session.
`run_steps` then reports the verdict as the revision's failure, whatever error the project
raised on the way out. The migration's session id comes from the connection env.py handed
to context.configure (the one MigrationContext runs on), read before the first step; the
`lock_timeout`/`statement_timeout` settings are SET on that same session then.

The watch starts with the Alembic call, not with the first revision: env.py, the app it
creates and the connection it opens (waiting on a lock its own code or another session
holds, say) are on the clock too, named "env.py, before any revision"; there the session
to end is the one of the database that waits for a lock.

The whole-run limit is a deadline: each revision's limit is cut to the time left, and a
stage that starts after the deadline is not run.
"""

from __future__ import annotations

import contextlib
import math
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import Script

from checks.errors import ConfigError, MigrationError, ProjectError
from checks.project.source_lines import frame_line, traceback_line
from checks.project.watcher import LockWatcher, Wait

HEARTBEAT_S = 5.0  # a revision quieter than this says nothing
MAX_BEAT_S = 60.0  # however long it runs, it says something at least this often
TICK_S = 0.2
GRACE_S = 2.0  # how long each way of ending a wait gets before the next one is tried
SIGNAL = signal.SIGALRM
# What PostgreSQL accepts for a time setting: a number, with or without a unit.
_DURATION = re.compile(r"^\s*\d+(\.\d+)?\s*(us|ms|s|min|h|d)?\s*$")
LOCK_HINT = ("the session named holds the lock; on the run's throwaway database that is the project's "
             "own code (a second connection from env.py, the app or a revision, left in a transaction). "
             "In production it is your app's traffic, and a migration waiting on it stalls every query "
             "queued behind it: set lock_timeout (the setting, or in env.py) so it gives up instead")
SLOW_HINT = ("if the revision is meant to run this long (a backfill), raise --revision-timeout / "
             "revision_timeout; otherwise see what it waits for at the line named")
SELF_HINT = ("the revision's own connection (a new engine, an app session, psycopg.connect) cannot see past "
             "the migration's uncommitted changes and waits for its locks, while the migration waits for it: "
             "run those statements on op.get_bind(), the migration's own connection")
PRELUDE_HINT = ("env.py (or the app or hook it runs) waits before it hands Alembic a connection; "
                "run `alembic current` in the project to see it wait, and look at what env.py does "
                "before context.configure()")


def next_beat(elapsed: float, heartbeat_s: float = HEARTBEAT_S) -> float:
    """When something that has run `elapsed` seconds speaks next: sooner while young, then at
    growing intervals, and at least every MAX_BEAT_S."""
    return elapsed + min(max(heartbeat_s, elapsed / 2), MAX_BEAT_S)


PRELUDE = -1  # the clock's index while env.py has not reached its first revision


class RevisionTimedOut(BaseException):
    """Raised in the migrating thread when a revision outlives its limit away from any
    statement the database could cancel."""


@dataclass
class Limits:
    """What a run allows: seconds per revision and for the whole run (0: no limit), and the
    session settings every migration runs with."""

    revision_s: float = 300.0
    run_s: float = 0.0
    lock_timeout: str | None = None
    statement_timeout: str | None = None
    say: Callable[[str], None] = field(default=lambda text: None, repr=False)
    heartbeat_s: float = HEARTBEAT_S
    started: float = field(default_factory=time.monotonic)

    @classmethod
    def configure(cls, settings, revision_timeout: float | None = None, run_timeout: float | None = None,
                  say: Callable[[str], None] | None = None) -> Limits:
        """The settings file's limits, overridden by the command line's."""
        source = settings.source
        revision_s = _seconds(revision_timeout, "--revision-timeout") if revision_timeout is not None \
            else _seconds(settings.revision_timeout, f"{source}: revision_timeout")
        run_s = _seconds(run_timeout, "--run-timeout") if run_timeout is not None \
            else _seconds(settings.run_timeout, f"{source}: run_timeout")
        durations = {}
        for key in ("lock_timeout", "statement_timeout"):
            value = getattr(settings, key)
            if value is not None and not (isinstance(value, str) and _DURATION.match(value)):
                raise ConfigError(f"{source}: {key} must be a PostgreSQL duration such as \"5s\", "
                                  f"\"500ms\" or \"2min\", not {value!r}")
            durations[key] = value.strip() if value else None
        return cls(revision_s, run_s, say=say or (lambda text: None), **durations)

    def session_settings(self) -> dict[str, str]:
        return {key: value for key, value in (("lock_timeout", self.lock_timeout),
                                              ("statement_timeout", self.statement_timeout)) if value}

    def time_left(self) -> float | None:
        """Seconds the run has left, or None without a run limit."""
        return self.run_s - (time.monotonic() - self.started) if self.run_s else None

    def run_expired(self) -> bool:
        left = self.time_left()
        return left is not None and left <= 0

    def run_limit_name(self) -> str:
        return f"the run's {self.run_s:g} s limit (--run-timeout / run_timeout)"

    def revision_limit(self) -> tuple[float | None, str]:
        """The seconds the next revision may take, and the limit that sets them."""
        left = self.time_left()
        if left is not None and (not self.revision_s or left < self.revision_s):
            return max(left, 0.0), self.run_limit_name()
        if self.revision_s:
            return self.revision_s, (f"the {self.revision_s:g} s revision limit "
                                     "(--revision-timeout / revision_timeout)")
        return None, ""


def _seconds(value, where: str) -> float:
    # nan compares false with everything and inf never runs out: both would switch the limit off
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        shown_value = f"{value:g}" if isinstance(value, float) else repr(value)
        raise ConfigError(f"{where} must be a number of seconds, 0 or more (0 for no limit), "
                          f"not {shown_value}")
    return float(value)


@dataclass
class _Clock:
    """The revision being applied: since when, how long it may take, when it speaks next."""

    index: int
    started: float
    limit: float | None
    limit_name: str
    next_beat: float


@dataclass
class _Verdict:
    index: int
    reason: str
    line: int | None
    hint: str


class RevisionWatch:
    """Watches one run of env.py over `revisions` (see the module docstring)."""

    def __init__(self, limits: Limits | None, database, revisions: list[Script], upward: list[bool],
                 state, interrupt: Callable[[], None] | None = None) -> None:
        """`interrupt`, for env.py running in the project's own process, ends what runs
        there; by default the migrating thread is this process's main thread."""
        self.limits = limits
        self.revisions = revisions
        self.upward = upward
        self.state = state  # the StepState drive_steps keeps: how many steps are done
        self._watcher = LockWatcher(database.endpoint, database.name) if database is not None else None
        self._pid: int | None = None
        self._clock: _Clock | None = None
        self._verdict: _Verdict | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._migrating = threading.get_ident()
        self._armed = False
        self._previous_handler = None
        self._escalation: list[Callable[[], None]] = []
        self._mode = ""
        self._escalate_at = 0.0
        self._remote_interrupt = interrupt

    # --- the migrating thread ---------------------------------------------------------
    @contextlib.contextmanager
    def reporting(self) -> Iterator[None]:
        """Watch the block; a revision the limit ended fails as a MigrationError saying why,
        whatever the project raised on the way out (the driver's "canceling statement")."""
        try:
            with self:
                yield
        except BaseException as exc:
            timed_out = None if isinstance(exc, KeyboardInterrupt) else self.error(exc)
            if timed_out is None:
                raise
            raise timed_out from None

    def __enter__(self) -> RevisionWatch:
        if self.limits is None:
            return self
        if self._remote_interrupt is not None:
            self._armed = True
        elif threading.current_thread() is threading.main_thread():
            self._previous_handler = signal.signal(SIGNAL, self._on_signal)
            self._armed = True
        self._thread = threading.Thread(target=self._run, name="alembic-preflight revision watch",
                                        daemon=True)
        self._thread.start()
        self._start_clock(PRELUDE)
        return self

    def __exit__(self, *exc_info) -> None:
        if self.limits is None:
            return
        # First, so that a signal already on its way raises nothing; then under the lock,
        # which the thread holds while it decides to send one, so that none follows.
        self._armed = False
        with self._lock:
            self._clock = None
        self._stop.set()
        self._thread.join()
        if self._watcher is not None:
            self._watcher.close()
        if self._previous_handler is not None:
            signal.signal(SIGNAL, self._previous_handler)

    def attach(self, context) -> None:
        """Before the first step, on the connection env.py migrates with (the MigrationContext's;
        offline, a mock one that runs nothing)."""
        if self.limits is None:
            return
        connection = None if context.as_sql else context.connection
        self._mode = " (offline)" if context.as_sql else ""
        if connection is not None:
            for key, value in self.limits.session_settings().items():
                connection.exec_driver_sql(f"SET {key} = '{value}'")  # validated: digits and a unit
            self._pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        self._start_clock()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Between two revisions (the suite's own snapshot): no clock runs."""
        with self._lock:
            self._clock = None
        yield
        self._start_clock()

    def error(self, exc: BaseException) -> MigrationError | ProjectError | None:
        """The revision's failure, if the limit ended it (whatever `exc` the project raised);
        env.py's, if it never reached a revision."""
        verdict = self._verdict
        if verdict is None:
            return None
        if verdict.index == PRELUDE:
            return ProjectError(f"env.py{self._mode}, before any revision, {verdict.reason}; {verdict.hint}")
        revision = self.revisions[verdict.index]
        direction = "upgrade" if self.upward[verdict.index] else "downgrade"
        return MigrationError(
            f"{direction} of {revision.revision} ({Path(revision.path).name}) {verdict.reason}",
            revision=revision.revision, path=revision.path, db_error=verdict.reason,
            line=traceback_line(exc, revision.path) or verdict.line, hint=verdict.hint)

    def _start_clock(self, index: int | None = None) -> None:
        """The clock of step `index` (the next one by default, or PRELUDE)."""
        if self.limits is None:
            return
        if self._verdict is not None:
            # The revision outlived its limit and yet returned: it still failed, and the
            # run stops here rather than go on with a database in an unknown state.
            raise RevisionTimedOut(self._verdict.reason)
        index = self.state.done if index is None else index
        if index >= len(self.revisions):
            return
        limit, name = self.limits.revision_limit()
        first_beat = min(self.limits.heartbeat_s, limit / 2) if limit else self.limits.heartbeat_s
        with self._lock:
            self._clock = _Clock(index, time.monotonic(), limit, name, first_beat)

    def _on_signal(self, signum, frame) -> None:
        if self._armed and self._verdict is not None:
            raise RevisionTimedOut(self._verdict.reason)
        previous = self._previous_handler
        if callable(previous):
            previous(signum, frame)

    # --- the watching thread -------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                self._tick()
            except Exception:  # noqa: BLE001 - watching must never take the run down
                continue

    def _tick(self) -> None:
        clock = self._clock
        if clock is None:
            return
        elapsed = time.monotonic() - clock.started
        if self._verdict is not None:
            if self._escalation and time.monotonic() >= self._escalate_at:
                self._escalate_at = time.monotonic() + GRACE_S
                self._escalation.pop(0)()
            return
        if clock.limit is not None and elapsed >= clock.limit:
            self._expire(clock, elapsed)
        elif elapsed >= clock.next_beat:
            wait = self._wait()
            self.limits.say(f"{self._where(clock)} has run for {elapsed:.0f} s"
                            + (f"; {wait.describe()}" if wait else "")
                            + (f" (limit {clock.limit:g} s)" if clock.limit else ""))
            clock.next_beat = next_beat(elapsed, self.limits.heartbeat_s)

    def _expire(self, clock: _Clock, elapsed: float) -> None:
        wait = self._wait()
        reason = f"did not finish within {clock.limit_name}" + (f": it was {wait.describe()}" if wait else "")
        hint = (SELF_HINT if wait is not None and wait.blocked else
                LOCK_HINT if wait is not None and wait.holders else SLOW_HINT)
        if clock.index == PRELUDE and wait is None:
            reason += ": no session of its database was waiting, so the time went to Python code"
            hint = PRELUDE_HINT
        self._verdict = _Verdict(clock.index, reason, self._line(clock), hint)
        self.limits.say(f"{self._where(clock)} has run for {elapsed:.0f} s and reached {clock.limit_name}; "
                        "ending it" + (f": {wait.describe()}" if wait else ""))
        pid = self._pid if self._pid is not None or self._watcher is None else self._watcher.waiting()
        steps = [lambda: self._interrupt(clock)]
        if pid is not None and self._watcher is not None:
            steps.append(lambda: self._watcher.terminate(pid))
            if wait is not None and wait.cancellable:
                steps.insert(0, lambda: self._watcher.cancel(pid))
        self._escalation = steps
        self._escalate_at = 0.0
        self._tick()

    def _interrupt(self, clock: _Clock) -> None:
        with self._lock:
            if self._armed and self._clock is clock:
                if self._remote_interrupt is not None:
                    self._remote_interrupt()
                else:
                    signal.pthread_kill(self._migrating, SIGNAL)

    def _wait(self) -> Wait | None:
        if self._watcher is None:
            return None
        pid = self._pid if self._pid is not None else self._watcher.waiting()  # env.py, before any revision
        return self._watcher.describe(pid) if pid is not None else None

    def _line(self, clock: _Clock) -> int | None:
        if clock.index == PRELUDE:
            return None
        frame = sys._current_frames().get(self._migrating)
        return frame_line(frame, self.revisions[clock.index].path) if frame is not None else None

    def _where(self, clock: _Clock) -> str:
        if clock.index == PRELUDE:
            return f"  env.py{self._mode}, before any revision,"
        revision = self.revisions[clock.index]
        direction = "upgrade" if self.upward[clock.index] else "downgrade"
        line = self._line(clock)
        return (f"  {direction}{self._mode} of {revision.revision} ({Path(revision.path).name}"
                + (f" line {line}" if line else "") + ")")
