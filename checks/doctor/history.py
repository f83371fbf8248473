"""The schema after each revision, built once on a throwaway database.

The run's fresh build already applies the revisions one at a time and snapshots the
schema before each; the schema after revision N is the one before revision N+1, and
after the last it is the head. "base" is what env.py sets up before any revision.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic.script import Script

from checks.errors import MigrationError
from checks.run import Run
from checks.schema import Snapshot


@dataclass
class History:
    order: list[Script]
    states: dict[str, Snapshot] = field(default_factory=dict)  # "base" or revision -> schema after it
    error: MigrationError | None = None  # the revision the fresh build stopped at

    def labels(self) -> list[str]:
        """Oldest first: "base", then each revision whose schema is known."""
        return list(self.states)

    def after(self, applied: set[str]) -> tuple[str, Snapshot] | None:
        """The schema once exactly `applied` is applied, when the upgrade order passes through it.

        For a history with branches, the one-at-a-time order may interleave them; a set of
        revisions that is not a prefix of it has no recorded schema.
        """
        if not applied:
            return ("base", self.states["base"]) if "base" in self.states else None
        for index, rev in enumerate(self.order):
            if {r.revision for r in self.order[:index + 1]} == applied:
                state = self.states.get(rev.revision)
                return (rev.revision, state) if state is not None else None
        return None


def build_history(run: Run) -> History:
    build = run.build()
    history = History(build.order, error=build.error)
    order = build.order
    if not order:
        if build.head is not None:
            history.states["base"] = build.head
        return history
    if order[0].revision in build.before:
        history.states["base"] = build.before[order[0].revision]
    for index, rev in enumerate(order):
        later = order[index + 1].revision if index + 1 < len(order) else None
        state = build.before.get(later) if later else build.head
        if state is None:
            break  # the build stopped here; nothing after is known
        history.states[rev.revision] = state
    return history


def schema_at(run: Run, history: History, applied: set[str], label: str) -> tuple[str, Snapshot] | None:
    """The schema with exactly `applied` applied: recorded by the fresh build when it passed
    through that point, else built on a database of its own (a database on one branch of
    several). None when the migrations cannot build it."""
    found = history.after(applied)
    if found is not None:
        return found
    # The upgrade order is topological and `applied` holds every ancestor, so its
    # sub-sequence is a valid order too.
    revisions = [rev for rev in history.order if rev.revision in applied]
    try:
        with run.work_database("doctor") as db:
            run.project.bootstrap(db)
            run.project.run_steps(db, revisions, upgrade=True)
    except MigrationError:
        return None
    with run.server.connect(db.name) as conn:
        return label, run.snapshot(conn)
