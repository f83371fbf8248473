"""A piece of work in a worker process beside this one, for a stage with two independent halves.

The worker is a fork (checks.parallel.fork) that shares the project's output log and
stays off the console; past the run's time limit it is stopped. `Aside` is the general
form: the half it is given runs in a worker when the other core is free, and runs here,
in turn, when it is not or when the worker fails. The worker's failure is never the
run's: the half runs again here and fails, or not, as it would have without a worker.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from checks.errors import StageError
from checks.parallel.fork import TIMED_OUT, Outcome, Worker, can_fork

SERIAL_ENV = "ALEMBIC_PREFLIGHT_SERIAL"  # =1: no worker process at all


def allowed() -> bool:
    return os.environ.get(SERIAL_ENV) != "1" and can_fork()


def fork_for(run, work: Callable[[], object]) -> Worker:
    """`work()` in a worker forked now."""
    run.project.env.output.share()

    def body() -> object:
        run.progress.enabled = False  # the console is this process's; the worker answers at the end
        return work()

    return Worker(body)


def wait_for(run, worker: Worker) -> Outcome:
    """The worker's Outcome; past the run's limit it is stopped (each of its revisions also
    has its own limit, as here)."""
    limits = run.project.limits
    left = limits.time_left() if limits is not None else None
    return worker.wait(None if left is None else max(left, 0) + 1)


def others_busy(run) -> bool:
    """Whether a worker of this run (the round trip's, the side one) is still at work on the
    other core. Asked after the build."""
    split = run.build().split
    workers = (run.side, split.worker if split is not None else None)
    return any(worker is not None and not worker.finished() for worker in workers)


class Aside:
    """`work()` in a worker while this process does something else; `result()` gives its
    value, from the worker or, when there was none or it failed, by running it here. Used
    as a context manager, so that the worker ends when this process's half fails."""

    def __init__(self, run, work: Callable[[], object]) -> None:
        self._run = run
        self._work = work
        self._worker = fork_for(run, work) if allowed() and not others_busy(run) else None

    def __enter__(self) -> Aside:
        return self

    def __exit__(self, *exc) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def result(self) -> object:
        worker, self._worker = self._worker, None
        if worker is not None:
            outcome = wait_for(self._run, worker)
            if outcome.failure is None:
                return outcome.value
            if outcome.failure == TIMED_OUT:
                # Past the run's limit: running the half again here would only overrun it more.
                limit = self._run.project.limits.run_limit_name()
                raise StageError("run-timeout", f"not finished within {limit}",
                                 hint="raise the limit, or run fewer stages (--stage)")
        return self._work()
