"""The suite's own test sessions, run side by side (`invoke test`).

The sessions (two halves of the SQLAlchemy 2 tests, and the SQLAlchemy 1.4 one) share
nothing but the machine: their own virtual environments, servers, databases and temp
folders. One after the other they leave a core idle most of the time (each test waits on a
server, a container or a subprocess); side by side they end together sooner. The first
session's output streams as it runs; the others' is printed whole when they end, so no line
is interleaved.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile


def run_side_by_side(sessions: list[str], nox: list[str]) -> int:
    """Run `nox -s SESSION` for each session at once; 0 when all pass, else the first failure's code."""
    first, *others = sessions
    with contextlib.ExitStack() as stack:
        logs = {name: stack.enter_context(tempfile.TemporaryFile("w+")) for name in others}
        background = {name: subprocess.Popen([*nox, "-s", name], stdout=logs[name],
                                             stderr=subprocess.STDOUT, text=True) for name in others}
        codes = {first: subprocess.run([*nox, "-s", first]).returncode}
        for name, proc in background.items():
            codes[name] = proc.wait()
            logs[name].seek(0)
            sys.stdout.write(f"\n===== nox -s {name} (ran beside nox -s {first}) =====\n")
            sys.stdout.write(logs[name].read())
            sys.stdout.flush()
    for name, code in codes.items():
        print(f"nox -s {name}: {'passed' if code == 0 else f'FAILED (exit {code})'}")
    return next((code for code in codes.values() if code), 0)
