"""pg_dump and pg_restore that say what they wait for, and stop waiting at a limit.

pg_dump takes a share lock on every table it dumps; a session holding a stronger one (a
migration halfway, a transaction left open in a shell) makes it wait, and without a word
a backup looks hung. So the dump waits at most LOCK_WAIT_S for each lock, the console
hears every few seconds what it waits for and who holds it, and a wait that runs out ends
in one line naming the holder.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from checks.project import limits
from checks.project.watcher import LockWatcher, Wait
from checks.recovery.target import Target

LOCK_WAIT_S = 30.0  # how long pg_dump waits for any one table's lock
HEARTBEAT_S = limits.HEARTBEAT_S
TICK_S = 0.2


@dataclass
class Finished:
    returncode: int
    stderr: str
    wait: Wait | None  # what it was last seen waiting for, if ever


def run_watched(cmd: list[str], env: dict[str, str], target: Target, what: str,
                say: Callable[[str], None] | None = None) -> Finished:
    """Run `cmd` (a client tool on `target`'s database), saying on stderr what it waits for."""
    say = say or (lambda line: print(line, file=sys.stderr, flush=True))
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            errors="replace")
    watcher = LockWatcher(target.server.endpoint, target.name)
    started, next_beat, seen = time.monotonic(), HEARTBEAT_S, None
    try:
        while True:
            try:
                _, stderr = proc.communicate(timeout=TICK_S)
                return Finished(proc.returncode, stderr, seen)
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - started
                if elapsed < next_beat:
                    continue
                pid = watcher.waiting()
                wait = watcher.describe(pid) if pid is not None else None
                seen = _telling(wait, seen)
                say(f"  {what} of {target.describe()} has run for {elapsed:.0f} s"
                    + (f"; {wait.describe()}" if wait else ""))
                next_beat = limits.next_beat(elapsed, HEARTBEAT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        watcher.close()


def _telling(now: Wait | None, before: Wait | None) -> Wait | None:
    """The more useful of two sightings: one naming a lock and its holder outlives a later
    one that does not (a look between two tables' locks, or before the first)."""
    if now is None or (before is not None and before.holders and not now.holders):
        return before
    return now


def lock_timed_out(stderr: str) -> bool:
    """Whether the tool gave up waiting for a lock (pg_dump's --lock-wait-timeout is a
    statement timeout around its LOCK TABLE)."""
    return ("LOCK TABLE" in stderr and "timeout" in stderr) or "could not obtain lock" in stderr
