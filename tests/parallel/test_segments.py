"""The round trip split in two: a forked worker walks the lower revisions beside the build.

Each test runs the same project twice, split (a small minimum forces it) and whole, and
asserts the findings are the same ones, in the same order: splitting is for speed only.
"""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from projects import CREATE_ITEMS, DROP_ITEMS, ITEMS_MODELS, Rev, build_project, items_revision

from checks.parallel import beside, fork, segments

SPLIT = {segments.MIN_ENV: "2"}
WHOLE = {beside.SERIAL_ENV: "1"}


def in_worker(imports: str, statement: str) -> str:
    """Revision code that runs `statement` only in the worker's database (named `..._lower`)."""
    return (f"import {imports}\n"
            "if 'lower' in op.get_bind().exec_driver_sql('SELECT current_database()').scalar():\n"
            f"    {statement}\n")


def worker_first(revisions: list[Rev], code: str) -> None:
    """Run `code` at the start of 0002's upgrade (the worker's half)."""
    second = revisions[1]
    revisions[1] = Rev(second.id, second.down, code + second.upgrade, second.downgrade, file=second.file)

# A models file that matches the head of HISTORY (drift stays quiet).
MODELS = ITEMS_MODELS + """\
items.append_column(sa.Column("note", sa.Text))
items.append_column(sa.Column("size", sa.Integer))
items.append_column(sa.Column("token", sa.Text))
"""


def history(lower_trace: bool = False, upper_not_repeatable: bool = False, one_way_upper: bool = False,
            worker_dies: bool = False, failing_upper: bool = False) -> list[Rev]:
    """Eight revisions; with 2 as the minimum the worker takes the lower ones (0001..0005)."""
    trace = "pass" if lower_trace else 'op.drop_column("items", "note")'
    default = ", server_default=str(uuid.uuid4())" if upper_not_repeatable else ""
    token = f'import uuid\nop.add_column("items", sa.Column("token", sa.Text{default}))'
    # A revision that kills the process walking it, but only in the worker's database.
    dies = in_worker("os", "os._exit(3)") if worker_dies else "pass"
    revisions = [
        items_revision(),
        Rev("0002", "0001", 'op.add_column("items", sa.Column("note", sa.Text))', trace, file="0002_note.py"),
        Rev("0003", "0002", dies),
        Rev("0004", "0003", 'op.execute("COMMENT ON TABLE items IS \'stock\'")',
            'op.execute("COMMENT ON TABLE items IS NULL")'),
        Rev("0005", "0004", 'op.add_column("items", sa.Column("size", sa.Integer))',
            'op.drop_column("items", "size")'),
        Rev("0006", "0005", token, 'op.drop_column("items", "token")', file="0006_token.py"),
        Rev("0007", "0006", "pass", 'raise NotImplementedError("kept")' if one_way_upper
            else 'op.drop_column("items", "gone")' if failing_upper else "pass"),
        Rev("0008", "0007"),
    ]
    return revisions


def _both(verify, project):
    split = verify(project, "--stage", "fresh", "--stage", "roundtrip", env=SPLIT)
    whole = verify(project, "--stage", "fresh", "--stage", "roundtrip", env=WHOLE)
    return split, whole


def _found(result) -> list[tuple[str, str]]:
    return [(f["code"], f["revision"]) for f in result.findings("roundtrip")]


def _summary(result) -> str:
    """What the console says under the roundtrip stage."""
    return result.stdout


def test_a_split_round_trip_finds_what_one_walk_finds_in_both_halves(verify, tmp_path):
    revisions = history(lower_trace=True, upper_not_repeatable=True)
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    split, whole = _both(verify, project)

    # 0002's kept column also fails its own re-upgrade, as in one walk.
    assert _found(split) == _found(whole) == [
        ("roundtrip-differs", "0006"), ("downgrade-leaves-trace", "0002"), ("reupgrade-failed", "0002")]
    assert split.findings("roundtrip")[1]["object"] == "items.note"
    assert "the lower 5 (0001..0005) by a worker process beside the build" in _summary(split), split.stdout
    assert "worker" not in _summary(whole)


def test_a_clean_history_passes_split(verify, tmp_path):
    split, whole = _both(verify, build_project(tmp_path / "p", history(), models=MODELS))

    assert split.code == whole.code == 0, split.stdout + split.stderr
    assert _found(split) == []
    assert "by a worker process" in _summary(split)


@pytest.mark.parametrize(("upper", "code"), [("one_way_upper", "one-way-revision"),
                                           ("failing_upper", "downgrade-failed")])
def test_a_trip_ended_above_the_split_drops_what_the_worker_found(verify, tmp_path, upper, code):
    # One walk from head ends at 0007 and never reaches 0002's trace: nor may the split one.
    project = build_project(tmp_path / "p", history(lower_trace=True, **{upper: True}), models=MODELS)
    split, whole = _both(verify, project)

    assert _found(split) == _found(whole) == [(code, "0007")]
    assert "worker" not in _summary(split)


def test_a_worker_that_dies_is_walked_again_in_the_main_process(verify, tmp_path):
    project = build_project(tmp_path / "p", history(lower_trace=True, worker_dies=True), models=MODELS)
    split, whole = _both(verify, project)

    assert _found(split) == _found(whole) == [
        ("downgrade-leaves-trace", "0002"), ("reupgrade-failed", "0002")]
    assert "walked again here after the worker process stopped" in _summary(split), split.stdout
    log = (project / ".alembic-preflight" / "project-output.log").read_text()
    assert "exit code 3" in log


def test_the_worker_leaves_no_database_behind(verify, pg_server, tmp_path):
    project = build_project(tmp_path / "p", history(lower_trace=True), models=MODELS)
    with pg_server.connect() as conn:
        before = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    result = verify(project, "--stage", "fresh", "--stage", "roundtrip", env=SPLIT)
    with pg_server.connect() as conn:
        after = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}

    assert "by a worker process" in _summary(result)
    assert after - before == set()


def test_files_failing_after_the_worker_forked_ends_it_and_leaves_no_database(verify, pg_server, tmp_path):
    # The worker forks before the files stage (which then runs beside it); when the files
    # fail, nothing is built, and the worker, busy in its own database, is ended with the run.
    revisions = history()
    worker_first(revisions, in_worker("time", "time.sleep(60)"))
    revisions.append(Rev("0008", "0007", file="0008_again.py"))  # a second file with id 0008
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    with pg_server.connect() as conn:
        before = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    result = verify(project, env=SPLIT, timeout=50)  # never the worker's minute of sleep
    with pg_server.connect() as conn:
        after = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    left = subprocess.run(["pgrep", "-f", str(project)], capture_output=True, text=True).stdout.split()

    assert result.code == 1, result.stdout
    assert [(f["code"], f["revision"]) for f in result.findings("files")] == [("duplicate-revision", "0008")]
    assert {name: result.stage(name)["status"] for name in ("fresh", "roundtrip", "lint")} == {
        "fresh": "skip", "roundtrip": "skip", "lint": "skip"}
    assert after - before == set()
    assert left == []


# The files stage of a verify run, made to wait for a file the worker's first revision writes
# in its own database: it sees the file only if the worker started before it.
FILES_WAITS_FOR_THE_WORKER = """\
import os, pathlib, sys, time
import checks.stages.files as files
original = files.check
def check(run):
    marker = pathlib.Path(os.environ["MARKER"])
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    pathlib.Path(os.environ["SEEN"]).write_text("yes" if marker.exists() else "no")
    return original(run)
files.check = check
sys.argv[0] = "checks"
from checks.cli import entry
entry()
"""


def test_the_files_stage_runs_while_the_worker_walks(pg_server, tmp_path):
    revisions = history()
    marks = "pathlib.Path(os.environ['MARKER']).write_text('walking')"
    worker_first(revisions, in_worker("os, pathlib", marks))
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    seen = tmp_path / "seen"
    proc = subprocess.run([sys.executable, "-c", FILES_WAITS_FOR_THE_WORKER, "verify", "--project",
                           str(project), "--url", url, "--stage", "files", "--stage", "fresh",
                           "--stage", "roundtrip", "--quiet-progress"],
                          capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2],
                          env={**os.environ, **SPLIT, "MARKER": str(tmp_path / "marker"), "SEEN": str(seen)})

    assert seen.read_text() == "yes", proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "by a worker process beside the build" in proc.stdout, proc.stdout


def test_a_project_module_already_imported_keeps_the_walk_whole(tmp_path, monkeypatch):
    # Settings an app reads at import would name the build's database in the worker.
    project = build_project(tmp_path / "p", history(), models=MODELS)
    monkeypatch.syspath_prepend(str(project))
    for name in [n for n in list(sys.modules) if n == "app" or n.startswith("app.")]:
        monkeypatch.delitem(sys.modules, name)  # another test's project, imported earlier
    importlib.import_module("app.models")

    class Env:
        paths: list[str] = []

    class Project:
        root = project
        env = Env()

    try:
        assert segments._project_loaded(Project())
    finally:
        for name in [n for n in list(sys.modules) if n == "app" or n.startswith("app.")]:
            monkeypatch.delitem(sys.modules, name)


def test_a_worker_answer_and_failure_come_back():
    assert fork.Worker(lambda: {"rows": list(range(100_000))}).wait().value == {"rows": list(range(100_000))}
    failed = fork.Worker(lambda: 1 / 0).wait()
    assert failed.value is None and failed.failure.startswith("ZeroDivisionError")


@pytest.mark.parametrize("stop_early", [True, False])
def test_a_stopped_worker_is_reaped(stop_early):
    worker = fork.Worker(lambda: time.sleep(30) if stop_early else "done")
    if stop_early:
        worker.stop()
        assert worker.wait().failure == "stopped"
    else:
        assert worker.wait().value == "done"
    with pytest.raises(ChildProcessError):
        os.waitpid(worker.pid, 0)


def test_psycopg_connections_of_the_parent_survive_a_worker(pg_server):
    # The copy must not close the parent's sockets on its way out.
    with pg_server.connect() as conn:
        assert fork.Worker(lambda: "ok").wait().value == "ok"
        assert conn.execute("SELECT 1").fetchone() == (1,)
        assert not conn.closed and isinstance(conn, psycopg.Connection)


def test_a_worker_dies_with_its_parent_even_on_sigkill(tmp_path):
    # A worker left alone would go on migrating on a shared server.
    script = tmp_path / "parent.py"
    script.write_text("import time\nfrom checks.parallel.fork import Worker\n"
                      "worker = Worker(lambda: time.sleep(60))\n"
                      "print(worker.pid, flush=True)\ntime.sleep(60)\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie is dead, waiting for init to reap it


SLOW_HERE = ("import time\nfrom alembic import op as o\n"
             "if ({} 'lower' in o.get_bind().exec_driver_sql('SELECT current_database()').scalar()):\n"
             "    time.sleep(3)\n")


@pytest.mark.parametrize("slow", ["worker", "main"])
def test_lint_is_run_by_whichever_process_is_free_first_and_finds_what_one_process_finds(
        verify, tmp_path, slow):
    # A downgrade that sleeps in one process's database only: the other one gets to lint first.
    revisions = history()
    sleeps = SLOW_HERE.format("" if slow == "worker" else "not")
    at = 1 if slow == "worker" else 6  # 0002 is the worker's, 0007 this process's
    revisions[at] = Rev(revisions[at].id, revisions[at].down, revisions[at].upgrade,
                        sleeps + revisions[at].downgrade, file=revisions[at].file)
    revisions[4] = Rev("0005", "0004", 'op.add_column("items", sa.Column("size", sa.Integer))',
                       'op.drop_column("items", "size")')  # a DROP COLUMN in a downgrade: no finding
    revisions[5] = Rev("0006", "0005", 'op.add_column("items", sa.Column("token", sa.Text))\n'
                       'op.execute("UPDATE items SET token = name")', 'op.drop_column("items", "token")')
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    split = verify(project, "--stage", "roundtrip", "--stage", "lint", env=SPLIT)
    whole = verify(project, "--stage", "roundtrip", "--stage", "lint", env=WHOLE)

    found = [(f["code"], f["revision"]) for f in split.findings("lint")]
    assert found == [(f["code"], f["revision"]) for f in whole.findings("lint")]
    assert ("schema-and-data", "0006") in found, found
    assert _found(split) == _found(whole)
    if slow == "worker":
        assert "lint ran here meanwhile" in split.stdout, split.stdout
        assert "run while the round trip's worker walked its half" in split.stdout
    else:
        assert "which also ran lint" in split.stdout, split.stdout
        assert "run by a worker process beside the build" in split.stdout
    assert split.stage("lint")["status"] == whole.stage("lint")["status"] == "warn"


def test_a_worker_past_its_time_is_stopped():
    started = time.monotonic()
    outcome = fork.Worker(lambda: time.sleep(30)).wait(timeout=0.5)
    assert outcome.failure == fork.TIMED_OUT
    assert time.monotonic() - started < 10


def test_a_run_timeout_ends_the_worker_s_revision_too(verify, tmp_path):
    # The worker's revision sleeps past the run's limit; the main process's part is quick.
    revisions = history()
    revisions[1] = Rev("0002", "0001", 'op.add_column("items", sa.Column("note", sa.Text))',
                       "import time\nfrom alembic import op as o\n"
                       "if 'lower' in o.get_bind().exec_driver_sql('SELECT current_database()').scalar():\n"
                       "    time.sleep(60)\n"
                       'op.drop_column("items", "note")')
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    started = time.monotonic()
    result = verify(project, "--stage", "fresh", "--stage", "roundtrip", "--run-timeout", "15", env=SPLIT)

    assert time.monotonic() - started < 50
    assert result.code != 0
    found = [(f["code"], f.get("revision")) for f in result.findings("roundtrip")]
    # The worker's own watch ends the revision at the run's deadline, as in one process.
    assert found == [("downgrade-failed", "0002")], found
    assert "the run's 15 s limit" in result.findings("roundtrip")[0]["message"]


@pytest.mark.parametrize("since", [False, True])
def test_without_a_split_lint_runs_beside_the_build(verify, tmp_path, since):
    # A short history, or a pull request's one new revision: no split, but lint, which needs
    # no database, still runs in a worker of its own while the history is built.
    upgrade = 'op.add_column("items", sa.Column("note", sa.Text))\nop.execute("UPDATE items SET note = name")'
    revisions = [items_revision(), Rev("0002", "0001", upgrade, 'op.drop_column("items", "note")')]
    project = build_project(tmp_path / "p", revisions, models=ITEMS_MODELS.replace(
        'nullable=False))', 'nullable=False), sa.Column("note", sa.Text))'))
    args = ["--since", "0001"] if since else []
    beside = verify(project, *args)
    alone = verify(project, *args, env=WHOLE)

    found = [(f["code"], f["revision"]) for f in beside.findings("lint")]
    assert found == [(f["code"], f["revision"]) for f in alone.findings("lint")]
    assert ("schema-and-data", "0002") in found, found
    assert "run by a worker process beside the build" in beside.stdout, beside.stdout
    assert "run by a worker process" not in alone.stdout


def _upper_leaves_behind(what: str) -> list[Rev]:
    """0007 (above the split) leaves `what` behind for the lower revisions: one walk from
    head judges them on it, while the worker built its database without it."""
    leftover = {
        "table": 'op.execute("CREATE TABLE IF NOT EXISTS audit (item_id int REFERENCES items (id))")',
        # A seed its downgrade keeps: no schema shows it, but 0002's NOT NULL column now
        # meets a table that is not empty.
        "row": "op.execute(\"INSERT INTO items (id, name, note) VALUES (1, 'a', 'b') "
               "ON CONFLICT DO NOTHING\")",
        # A grant the lower revisions' schemas never had: the seam's comparison sees it too.
        "grant": 'op.execute("GRANT SELECT ON items TO PUBLIC")',
    }[what]
    revisions = history()
    revisions[1] = Rev("0002", "0001", 'op.add_column("items", sa.Column("note", sa.Text, nullable=False))',
                       'op.drop_column("items", "note")')
    revisions[6] = Rev("0007", "0006", leftover, "pass")
    return revisions


@pytest.mark.parametrize(("what", "found"), [
    # (0006's re-upgrade runs on the table 0007 left, and is not blamed for it.)
    ("table", [("downgrade-leaves-trace", "0007"), ("downgrade-failed", "0001")]),
    ("row", [("reupgrade-failed", "0002")]),
    ("grant", [("downgrade-leaves-trace", "0007")]),
])
def test_what_the_upper_half_leaves_behind_reaches_the_lower_half(verify, tmp_path, what, found):
    project = build_project(tmp_path / "p", _upper_leaves_behind(what), models=MODELS)
    split, whole = _both(verify, project)

    assert _found(whole) == found
    assert _found(split) == _found(whole)
    # Walked on where the upper half ended, with the worker's records, not all again from head.
    assert "split in two, then walked on here: the upper revisions' downgrades left" in _summary(split)
    assert "the lower 5 (0001..0005) were judged on that database" in _summary(split)


def test_a_one_way_revision_below_what_the_upper_half_left_ends_the_walk_there(verify, tmp_path):
    # One walk from head stops at 0003, with what it found above it; walked on from where
    # the upper half ended, the split run stops there too.
    revisions = _upper_leaves_behind("table")
    revisions[2] = Rev("0003", "0002", "pass", 'raise NotImplementedError("kept")')
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    split, whole = _both(verify, project)

    assert _found(split) == _found(whole)
    assert ("one-way-revision", "0003") in _found(whole), _found(whole)
    assert "split in two, then walked on here" in _summary(split)


def test_a_worker_that_dies_below_what_the_upper_half_left_walks_all_again_from_head(verify, tmp_path):
    # No records to walk on with: the lower revisions are judged in one walk from head.
    revisions = _upper_leaves_behind("table")
    revisions[2] = history(worker_dies=True)[2]
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    split, whole = _both(verify, project)

    assert _found(split) == _found(whole) != []
    assert "walked in one go from head: the upper revisions' downgrades left" in _summary(split)


def test_ctrl_c_while_the_worker_walks_ends_both_and_leaves_no_database(pg_server, tmp_path):
    # The worker's revision sleeps in its own database only, so Ctrl-C lands while it walks.
    revisions = history()
    revisions[2] = Rev("0003", "0002", in_worker("time", "time.sleep(60)"))
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    with pg_server.connect() as conn:
        before = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    cmd = [sys.executable, "-m", "checks", "verify", "--project", str(project), "--url", url,
           "--stage", "fresh", "--stage", "roundtrip", "--quiet-progress"]
    proc = subprocess.Popen(cmd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, **SPLIT}, cwd=Path(__file__).resolve().parents[2],
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    workers: list[str] = []
    while not workers and time.monotonic() < deadline:
        time.sleep(0.1)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True)
        workers = children.stdout.split()
    assert workers, "no worker started"
    time.sleep(1.0)  # inside the sleeping revision by now
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)

    assert proc.returncode == 130, output
    assert "interrupted" in output
    deadline = time.monotonic() + 10
    while any(_alive(int(pid)) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_alive(int(pid)) for pid in workers)
    with pg_server.connect() as conn:
        after = {row[0] for row in conn.execute("SELECT datname FROM pg_database")}
    assert after - before == set()


def test_findings_of_both_halves_come_in_one_walk_s_order(verify, tmp_path):
    # A one-way revision in the worker's half (its note), traces in both halves above it, and
    # a re-upgrade that builds another schema (a random default): every finding, in one order.
    revisions = history(upper_not_repeatable=True)
    revisions[2] = Rev("0003", "0002", "pass", 'raise NotImplementedError("kept")')
    revisions[3] = Rev("0004", "0003", revisions[3].upgrade, "pass")
    revisions[6] = Rev("0007", "0006", 'op.execute("COMMENT ON COLUMN items.token IS \'opaque\'")', "pass")
    project = build_project(tmp_path / "p", revisions, models=MODELS)
    split, whole = _both(verify, project)

    def found(result):
        return [(f["code"], f["revision"], f["object"]) for f in result.findings("roundtrip")]

    assert [(code, revision) for code, revision, _ in found(whole)] == [
        ("one-way-revision", "0003"), ("downgrade-leaves-trace", "0007"), ("roundtrip-differs", "0006"),
        ("downgrade-leaves-trace", "0004")], whole.stdout
    assert found(split) == found(whole), split.stdout
    assert "by a worker process beside the build" in _summary(split), split.stdout


# An enum widened above the split and narrowed back in its downgrade the way autogenerate-era
# projects write it: the old type renamed, a new one made, the column moved over with USING
# (which rebuilds the column's index), the old type dropped. Every object comes back under
# a new OID; nothing the steps compare differs.
KIND_MODELS = MODELS + """\
items.append_column(sa.Column("kind", sa.Enum("a", "b", name="item_kind"), nullable=True))
sa.Index("ix_items_kind", items.c.kind)
"""
ADD_KIND = ('op.execute("CREATE TYPE item_kind AS ENUM (\'a\', \'b\')")\n'
            'op.add_column("items", sa.Column("kind", sa.Enum(name="item_kind", create_type=False)))\n'
            'op.create_index("ix_items_kind", "items", ["kind"])')
DROP_KIND = 'op.drop_index("ix_items_kind", table_name="items")\nop.drop_column("items", "kind")\n' \
            'op.execute("DROP TYPE item_kind")'
NARROW_KIND = """\
op.execute("ALTER TYPE item_kind RENAME TO item_kind_old")
op.execute("CREATE TYPE item_kind AS ENUM ('a', 'b')")
op.execute("ALTER TABLE items ALTER COLUMN kind TYPE item_kind USING kind::text::item_kind")
op.execute("DROP TYPE item_kind_old")
"""


def test_an_enum_rebuilt_by_an_upper_downgrade_keeps_the_split(verify, tmp_path):
    revisions = history()
    revisions[0] = Rev("0001", None, CREATE_ITEMS + ADD_KIND, DROP_KIND + "\n" + DROP_ITEMS)
    revisions[6] = Rev("0007", "0006", 'op.execute("ALTER TYPE item_kind ADD VALUE \'c\'")', NARROW_KIND)
    project = build_project(tmp_path / "p", revisions, models=KIND_MODELS.replace(
        '"a", "b", name', '"a", "b", "c", name'))
    split, whole = _both(verify, project)

    assert _found(split) == _found(whole) == [], whole.stdout
    assert "the lower 5 (0001..0005) by a worker process beside the build" in _summary(split), split.stdout


# A column dropped above the split, on a table with a row, and added back by its downgrade:
# PostgreSQL puts it last, so the table's columns come back in another order. The steps'
# diff does not compare column order, and the row holds the same values: nothing differs.
DROP_NOTE = 'op.drop_column("items", "note")'
ADD_NOTE_BACK = 'op.add_column("items", sa.Column("note", sa.Text, server_default=sa.text("\'\'")))'


def test_a_column_added_back_last_by_an_upper_downgrade_keeps_the_split(verify, tmp_path):
    revisions = history()
    seeded = CREATE_ITEMS + "op.execute(\"INSERT INTO items (id, name) VALUES (1, 'a')\")"
    revisions[0] = Rev("0001", None, seeded, DROP_ITEMS)
    revisions[1] = Rev("0002", "0001", ADD_NOTE_BACK, DROP_NOTE)
    revisions[6] = Rev("0007", "0006", DROP_NOTE, ADD_NOTE_BACK)
    models = MODELS.replace('items.append_column(sa.Column("note", sa.Text))\n', "")
    project = build_project(tmp_path / "p", revisions, models=models)
    split, whole = _both(verify, project)

    assert _found(split) == _found(whole) == [], whole.stdout
    assert "the lower 5 (0001..0005) by a worker process beside the build" in _summary(split), split.stdout
