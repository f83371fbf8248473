"""Who made something, and whether that process still runs: the stamp every leftover carries.

A run killed outright (SIGKILL, a lost CI runner) cannot clean up after itself; what it
made (compose stacks, local clusters, databases on a shared server) names its owner so
the next run can tell an orphan from something a live run still uses. A pid alone could
be reused by an unrelated process: the owner is the pid plus that process's start time.
"""

from __future__ import annotations

import os
import socket


def process_start(pid: int) -> str | None:
    """An identity for a live process that survives pid reuse; None if it is gone."""
    if not os.path.exists("/proc/self/stat"):  # no /proc (macOS): does the pid exist at all?
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "?"
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    if fields[0] in ("Z", "X"):  # dead, waiting for a parent that may never reap it
        return None
    return fields[19]  # field 22: start time, in clock ticks since boot


def _namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").strip("pid:[]")
    except OSError:
        return ""


def owner_record() -> dict[str, object]:
    """This process: its host, pid namespace, pid and start time (stored as JSON by stamps)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pidns": _namespace(), "pid": pid, "start": process_start(pid)}


def record_alive(record: dict) -> bool | None:
    """Whether the process a record names still runs; None when that cannot be told from here.

    Another host's (or another pid namespace's) pids mean nothing here: None, never False.
    """
    pid = record.get("pid")
    if (record.get("host"), record.get("pidns")) != (socket.gethostname(), _namespace()) \
            or not isinstance(pid, int) or isinstance(pid, bool):
        return None
    now, then = process_start(pid), str(record.get("start"))
    return now is not None and (now == then or "?" in (now, then))


def owner_token() -> str:
    """This process as one string (for labels): host:pid-namespace:pid:start."""
    record = owner_record()
    return "{host}:{pidns}:{pid}:{start}".format(**record)


def owner_alive(token: str) -> bool | None:
    """Whether the process a token names still runs; None when that cannot be told from here."""
    parts = token.rsplit(":", 3)
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    host, pidns, pid, start = parts
    return record_alive({"host": host, "pidns": pidns, "pid": int(pid), "start": start})
