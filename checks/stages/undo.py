"""The staircase's third step, taken back with the re-upgrade instead of run as a second downgrade.

Per revision the staircase runs down, up, and down again, each step committed as its own
`alembic` command would be; the third only returns the database to the state the first
one reached, which has been compared already. So the re-upgrade runs under a savepoint
and, once compared, is rolled back to it: its transaction commits nothing, the version
rows are as the first downgrade left them, and the third step is not run at all (Alembic
is told its heads are back where they were). The schema the snapshots keep is put back
too. A quarter of the staircase's steps, and their commits, are gone.

Where the savepoint is gone when the re-upgrade ends (a commit inside it, as
`autocommit_block()` makes) or cannot be set (an autocommit connection), the third step
runs the real downgrade.
"""

from __future__ import annotations

from collections.abc import Callable

from checks.schema.incremental import IncrementalSnapshots
from checks.schema_access import autocommits, scalar_unprepared

SAVEPOINT = "alembic_preflight_again"


class Undo:
    def __init__(self, tracker: IncrementalSnapshots | None) -> None:
        self.tracker = tracker
        self._marked: tuple[str, int, object] | None = None  # (revision, transaction id, catalog)
        self._taken_back: str | None = None  # the revision whose re-upgrade was rolled back last
        self.rewound = 0  # steps taken back by the savepoint, for tests and the curious

    def marker(self, revision: str) -> Callable[[object], None]:
        """What runs just before the re-upgrade of `revision`, on the migration's connection:
        the savepoint it is taken back to."""
        return lambda connection: self._mark(revision, connection)

    def _mark(self, revision: str, connection) -> None:
        self._marked = None
        if autocommits(connection):
            return
        xid = scalar_unprepared(connection, f"SAVEPOINT {SAVEPOINT}", "SELECT txid_current()")
        catalog = self.tracker.catalog.copy() if self.tracker and self.tracker.catalog else None
        self._marked = (revision, xid, catalog)

    def take_back(self, revision: str, connection) -> None:
        """After the re-upgrade of `revision` was compared: roll it back to its savepoint, if
        it is still there."""
        marked, self._marked = self._marked, None
        if marked is None or marked[0] != revision:
            return
        if scalar_unprepared(connection, "SELECT txid_current()") != marked[1]:
            return  # committed since: the savepoint went with the transaction
        scalar_unprepared(connection, f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        if self.tracker is not None:
            self.tracker.catalog = marked[2]
        self._taken_back = revision
        self.rewound += 1

    def taken_back(self, revision: str) -> bool:
        """Whether the second downgrade of `revision` is already done: its re-upgrade was
        rolled back (asked once, just before that downgrade would run)."""
        taken, self._taken_back = self._taken_back, None
        return taken == revision
