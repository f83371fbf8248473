"""start-up migrations: several instances of an app that runs `upgrade head` as it boots.

A deploy of three replicas, each migrating on start, runs three upgrades on one database
at once. Unless env.py serializes them (an advisory lock), they race: the losers die with
"already exists" (a failed boot, a restart loop), and a worse race leaves a wrong
version row or a half-built schema.
"""

from __future__ import annotations

import multiprocessing
import queue
import tempfile
from pathlib import Path

from checks.drills.boot import boot
from checks.drills.workspace import passed, target_for
from checks.recovery import revisions
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema import diff_snapshots, take_snapshot

NAME = "startup"
INSTANCES = 3
TIMEOUT_S = 120
_HINT = ("serialize the upgrade: in env.py, run `SELECT pg_advisory_lock(<a fixed number>)` on the "
         "connection before context.run_migrations() (it is released when the connection closes), or "
         "migrate once in a one-off job (a release phase, an init container) before the app starts")


def drill(run: Run) -> list[Finding]:
    """Replicas that migrate on boot fail a deploy at random, and only in production."""
    build = run.build()
    with run.work_database(NAME) as db, tempfile.TemporaryDirectory(prefix="verify-boot-") as folder:
        run.project.bootstrap(db)
        outcomes = _boot_together(run, db, Path(folder))
        target = target_for(run, db.name)
        version = revisions.current(target, run.project)
        with run.server.connect(db.name) as conn:
            schema = take_snapshot(conn, version_table=run.version_table)
    failed = [o for o in outcomes if not o.get("ok")]
    heads = sorted(run.project.script.get_heads())
    broken = [] if version == heads else [f"the version table says {version or 'nothing'}, not {heads}"]
    if build.head is not None and not broken:
        broken += [d.message for d in diff_snapshots(build.head, schema, expected_label="a single upgrade",
                                                     actual_label="concurrent upgrades")]
    if len(failed) == len(outcomes):
        return [Finding(Severity.INFO, "drill-startup-not-run",
                        f"{NAME} drill: no instance could run `upgrade heads` outside the suite's own "
                        f"runner ({failed[0]['error']}); concurrent boots were not tried")]
    if broken:
        return [Finding(Severity.ERROR, "startup-race-breaks",
                        f"{NAME} drill: {INSTANCES} instances upgrading one database at once leave it "
                        f"broken: {broken[0]}", object="env.py", hint=_HINT)]
    if failed:
        return [Finding(Severity.WARNING, "startup-race",
                        f"{NAME} drill: {INSTANCES} instances upgrading one fresh database at once race: "
                        f"{len(failed)} of them failed to boot ({failed[0]['error']}); the database "
                        "itself ended up correct", object="env.py", hint=_HINT)]
    return [passed(NAME, f"{INSTANCES} instances upgrading one fresh database at once all booted, "
                         "and the database is at head: the upgrades are serialized")]


def _boot_together(run: Run, database, work: Path) -> list[dict]:
    context = multiprocessing.get_context("fork")
    go, results = context.Event(), context.Queue()
    procs = [context.Process(target=boot, args=(run.project, database, work / str(i), go, results))
             for i in range(INSTANCES)]
    try:
        for proc in procs:
            proc.start()
        go.set()
        outcomes = []
        for _ in procs:
            try:
                outcomes.append(results.get(timeout=TIMEOUT_S))
            except queue.Empty:
                outcomes.append({"ok": False, "error": f"no answer within {TIMEOUT_S}s (a lock wait?)"})
        return outcomes
    finally:
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()
