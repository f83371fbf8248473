"""Progress lines: silent for short stages, sparse plain lines when not on a terminal."""

from __future__ import annotations

import io
import os

from projects import CREATE_ITEMS, DROP_ITEMS, Rev, build_project

from checks import progress as progress_module
from checks.progress import Progress
from checks.project.project import Project
from checks.run import Run
from checks.stages import roundtrip


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_plain_lines_after_a_quiet_start_and_at_the_end(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progress_module.time, "monotonic", clock)
    out = io.StringIO()
    bar = Progress(enabled=True, stream=out)

    bar.step("fresh", 1, 200, "a1")  # starts the stage's clock
    clock.now += 1.0
    bar.step("fresh", 2, 200, "a2")
    assert out.getvalue() == "", "a stage shorter than a couple of seconds prints nothing"

    clock.now += 2.0
    bar.step("fresh", 3, 200, "a3")
    clock.now += 0.1
    bar.step("fresh", 4, 200, "a4")  # too soon after the last line
    clock.now += 0.1
    bar.step("fresh", 200, 200, "zz")  # the last step always says so
    assert out.getvalue().splitlines() == ["  fresh: revision 3/200 (a3)", "  fresh: revision 200/200 (zz)"]


def test_disabled_progress_prints_nothing_and_still_writes_step_times_when_asked(monkeypatch, tmp_path):
    clock = Clock()
    monkeypatch.setattr(progress_module.time, "monotonic", clock)
    times = tmp_path / "steps.tsv"
    monkeypatch.setenv(progress_module.STEP_TIMES_ENV, str(times))
    out = io.StringIO()
    bar = Progress(enabled=False, stream=out)
    bar.step("roundtrip", 1, 2, "a")
    clock.now += 10
    bar.step("roundtrip", 2, 2, "b")
    assert out.getvalue() == ""
    pid = str(os.getpid())
    assert [line.split("\t") for line in times.read_text().splitlines()] == [
        [pid, "roundtrip", "1", "2", "a", "100.000000"], [pid, "roundtrip", "2", "2", "b", "110.000000"]]


def test_the_round_trip_counts_revisions_not_steps(pg_server, tmp_path):
    # Each revision is three steps (down, up, down again); the line counts revisions.
    revisions = [Rev("0001", None, CREATE_ITEMS, DROP_ITEMS), Rev("0002", "0001"), Rev("0003", "0002")]
    project = Project(build_project(tmp_path / "project", revisions))
    shown = []
    bar = Progress(enabled=False)
    bar.step = lambda stage, done, total, revision: shown.append((stage, done, total, revision))
    assert roundtrip.check(Run(project, pg_server, bar)) == []
    assert [step for step in shown if step[0] == "roundtrip"] == [
        ("roundtrip", 1, 3, "0003"), ("roundtrip", 2, 3, "0002"), ("roundtrip", 3, 3, "0001")]


def test_no_step_times_without_the_setting(monkeypatch, tmp_path):
    monkeypatch.delenv(progress_module.STEP_TIMES_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    Progress(enabled=False).step("fresh", 1, 2, "a")
    assert list(tmp_path.iterdir()) == []


def test_every_so_many_steps_what_the_run_holds_is_frozen_out_of_the_collectors_way():
    import gc

    from checks.progress import SETTLE_EVERY

    gc.unfreeze()
    progress = Progress(enabled=False)
    try:
        kept = [object() for _ in range(10)]
        for done in range(1, SETTLE_EVERY):
            progress.step("fresh", done, 500, f"r{done}")
        assert gc.get_freeze_count() == 0
        progress.step("fresh", SETTLE_EVERY, 500, "last")
        assert gc.get_freeze_count() >= len(kept)  # what existed then: full collections skip it
    finally:
        gc.unfreeze()
