"""The base of a pull-request run: built in one pass, or restored from the cache.

Per-step work (a schema snapshot before and after every revision) is what a full run pays
for judging each revision; the base is not judged, so it is applied by one run of env.py
with no snapshot at all, and the walk of the new revisions starts from one snapshot of it.
"""

from __future__ import annotations

from checks.errors import MigrationError
from checks.pullrequest.scope import Scope, Trust


def apply_base(run, build, db) -> None:
    """Bring the empty `db` to the base (bootstrap hook included) and set `build.walked`
    to the new revisions; on a failing base revision, `build.error` names it."""
    scope: Scope = run.scope
    base = [s for s in build.order if s.revision in scope.base]
    build.walked = [s for s in build.order if s.revision not in scope.base]
    trust = scope.trust = Trust(len(base), len(build.order))
    cache = scope.cache if base else None
    if cache is not None:
        # Only a run with a cache imports its pg_dump machinery.
        from checks.pullrequest.cache import cache_key

        trust.key = cache_key(run.project, base, run.server.major)
        if cache.restore(trust.key, run.server, db.name, trust):
            trust.trusted = len(base)
            return
    run.project.bootstrap(db)
    if not base:
        return

    done = 0

    def progress(revision, _connection) -> None:
        nonlocal done
        done += 1
        run.progress.step("base", done, len(base), revision.revision)

    try:
        run.project.run_steps(db, base, upgrade=True, after_step=progress)
    except MigrationError as exc:
        build.error = exc
        trust.failed = exc.revision or "?"
        return
    if cache is not None and run.committed(db):
        cache.store(trust.key, run.server, db.name, base, trust)
