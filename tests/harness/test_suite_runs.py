"""`invoke test` runs nox sessions side by side: the first streams, the others' output
follows whole, and any failure is the run's."""

from __future__ import annotations

import sys

from harness.suite_runs import run_side_by_side

# Stands in for nox: `-s NAME` says when it starts and ends, and fails for a name with "bad".
FAKE_NOX = [sys.executable, "-c", """
import sys, time
name = sys.argv[sys.argv.index("-s") + 1]
print(f"start {name} {time.time()}", flush=True)
time.sleep(1)
print(f"ran {name}")
print(f"end {name} {time.time()}")
sys.exit(3 if "bad" in name else 0)
"""]


def _times(out: str, what: str) -> dict[str, float]:
    return {line.split()[1]: float(line.split()[2]) for line in out.splitlines() if line.startswith(what)}


def test_sessions_run_at_once_and_report_each(capfd):
    assert run_side_by_side(["one", "two", "three"], FAKE_NOX) == 0
    out = capfd.readouterr().out
    starts, ends = _times(out, "start "), _times(out, "end ")
    assert max(starts.values()) < min(ends.values()), out  # each started before any ended
    assert out.index("ran one") < out.index("===== nox -s two") < out.index("ran two")
    assert out.index("ran two") < out.index("===== nox -s three") < out.index("ran three")
    assert "nox -s three: passed" in out


def test_a_failing_session_fails_the_run_whichever_it_is(capfd):
    assert run_side_by_side(["one", "bad"], FAKE_NOX) == 3
    assert "nox -s bad: FAILED (exit 3)" in capfd.readouterr().out
    assert run_side_by_side(["bad", "two"], FAKE_NOX) == 3
