"""Run one function in a forked copy of this process, on the machine's other core.

The copy shares everything loaded so far (the project's revisions, the suite's modules)
at no cost, and nothing it does afterwards: it opens connections of its own, and its
answer comes back pickled through a pipe. It never runs this process's exit handlers,
finalizers or cleanup (os._exit), so a connection or a temporary folder the parent holds
is never closed or removed from under it.

Forked only where fork is safe: on Linux, with no other thread running (a thread holding a
lock at the fork would leave that lock held forever in the copy).
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import os
import pickle
import select
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

TIMED_OUT = "timed out"


@dataclass
class Outcome:
    """What the copy returned, or why it returned nothing."""

    value: object = None
    failure: str | None = None  # the copy crashed, was killed or could not send its answer


def can_fork() -> bool:
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


class Worker:
    """A function running in a forked copy; `wait()` gives its Outcome, `stop()` ends it."""

    def __init__(self, fn: Callable[[], object]) -> None:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()  # or the copy writes what is buffered a second time
        read, write = os.pipe()
        # Objects alive now are the parent's: the copy's collector must never finalize them
        # (a connection's finalizer would close the parent's socket).
        gc.freeze()
        parent = os.getpid()
        try:
            pid = os.fork()
        finally:
            gc.unfreeze()
        if pid == 0:  # the copy
            os.close(read)
            _serve(fn, write, parent)
        os.close(write)
        self.pid = pid
        self._read = read
        self._outcome: Outcome | None = None
        # However this process ends (Ctrl-C between stages, an error), the copy ends with it.
        atexit.register(self.stop)

    def wait(self, timeout: float | None = None) -> Outcome:
        """The copy's outcome; after `timeout` seconds without one, the copy is stopped."""
        if self._outcome is None:
            # Read to the end before reaping: a large answer would fill the pipe and block.
            deadline = None if timeout is None else time.monotonic() + timeout
            chunks = []
            while True:
                left = None if deadline is None else max(deadline - time.monotonic(), 0)
                if not select.select([self._read], [], [], left)[0]:
                    self.stop()
                    self._outcome = Outcome(failure=TIMED_OUT)
                    return self._outcome
                chunk = os.read(self._read, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            os.close(self._read)
            _, status = os.waitpid(self.pid, 0)
            self._outcome = _decode(b"".join(chunks), os.waitstatus_to_exitcode(status))
            atexit.unregister(self.stop)
        return self._outcome

    def finished(self) -> bool:
        """Whether the copy has answered (or ended): waiting for it would not block."""
        return self._outcome is not None or bool(select.select([self._read], [], [], 0)[0])

    def stop(self) -> None:
        """End the copy if it still runs, and reap it."""
        if self._outcome is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.close(self._read)
        os.waitpid(self.pid, 0)
        self._outcome = Outcome(failure="stopped")
        atexit.unregister(self.stop)


def _serve(fn: Callable[[], object], write: int, parent: int) -> None:
    code = 0
    try:
        # The parent's Ctrl-C and SIGTERM handling (tearing down servers) is the parent's:
        # the copy ends when the parent tells it to, or dies with a plain SIGTERM.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _die_with_parent()
        if os.getppid() != parent:
            os._exit(1)  # the parent died before the copy could ask to die with it
        try:
            answer = (True, fn())
        except BaseException as exc:  # noqa: BLE001 - told to the parent, who decides
            answer = (False, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        data = pickle.dumps(answer)
        view = memoryview(data)
        while view:
            view = view[os.write(write, view):]
    except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
        code = 1
    finally:
        os._exit(code)


def _die_with_parent() -> None:
    """Ask Linux to kill this copy when the parent dies, even by SIGKILL (no cleanup of its own
    would run then): a copy left alone would go on migrating on a shared server."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def _decode(data: bytes, exit_code: int) -> Outcome:
    if not data:
        return Outcome(failure=f"the worker process ended with exit code {exit_code} and no answer")
    try:
        ok, value = pickle.loads(data)
    except Exception as exc:  # noqa: BLE001 - a truncated answer
        return Outcome(failure=f"the worker's answer could not be read ({type(exc).__name__})")
    return Outcome(value=value) if ok else Outcome(failure=value)
