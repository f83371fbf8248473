"""A verify run killed with SIGKILL while it holds a query open on its server, in a chosen stage.

The fixture project's `hold` writes a marker file, then sleeps in pg_sleep: the test
waits for the marker and kills the verify process alone (its servers, containers and
sessions live on, as they do when a CI runner is lost).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_support import ROOT
from projects import CREATE_ITEMS, DROP_ITEMS, ITEMS_MODELS, Rev, build_project

MARKER_WAIT_S = 240  # a guard against a run that never reaches the hold, not a timing assertion

HOLD = """\
import os
import pathlib


def hold(connection, stage):
    # Only in the stage the test names: the other stages must pass through.
    if os.environ.get("HOLD_STAGE") != stage:
        return
    pathlib.Path(os.environ["HOLD_MARKER"]).write_text(stage)
    connection.exec_driver_sql("SELECT pg_sleep(120)")
"""
# create_all runs only in the drift stage (the models' own database): hold there.
HOLD_MODELS = ITEMS_MODELS + """\
from app.hold import hold

sa.event.listen(metadata, "before_create", lambda target, connection, **kw: hold(connection, "drift"))
"""
STAGES = ("--stage", "fresh", "--stage", "drift", "--stage", "roundtrip")


def holding_project(root: Path) -> Path:
    """One clean revision; it holds in its upgrade (fresh), create_all (drift) and downgrade (roundtrip)."""
    revision = Rev("0001", None,
                   "from app.hold import hold\nhold(op.get_bind(), 'fresh')\n" + CREATE_ITEMS,
                   "from app.hold import hold\nhold(op.get_bind(), 'roundtrip')\n" + DROP_ITEMS)
    return build_project(root, [revision], models=HOLD_MODELS, files={"app/hold.py": HOLD})


@dataclass
class Killed:
    pid: int
    output: str  # what the run had printed (stdout and stderr) when it was killed


def kill_while_holding(project: Path, stage: str, backend_args: list[str], tmp_path: Path) -> Killed:
    """Start a verify run and SIGKILL it (that process only) once it holds in `stage`."""
    marker = tmp_path / "holding"
    proc = subprocess.Popen(
        [sys.executable, "-m", "checks", "verify", "--project", str(project), *STAGES, *backend_args],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "HOLD_STAGE": stage, "HOLD_MARKER": str(marker), "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + MARKER_WAIT_S
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if not marker.exists():
        proc.kill()
        output = proc.communicate()[0]
        pytest.fail(f"the run never held in {stage} (exit {proc.returncode}):\n{output}")
    proc.kill()  # SIGKILL, to the verify process alone: its servers and sessions live on
    output = proc.communicate()[0]
    assert marker.read_text() == stage
    return Killed(proc.pid, output)
