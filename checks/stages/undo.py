"""The staircase's third step, taken back by a savepoint instead of a second downgrade.

Per revision the staircase runs down, up, and down again; the last step only returns the
database to the state the first one reached, which has been compared already. When the
steps share one transaction, a savepoint set right after the first downgrade gives that
state back for one ROLLBACK TO SAVEPOINT: no migration code, no DDL, no event triggers.
Worth it for a downgrade that takes time (data moved back, a large table rewritten); a
quick one simply runs again.
Alembic still books the step itself (it moves the version row from the revision to the
one below), so the version table is put back as the re-upgrade left it first, and its
own update then finds what it expects. The schema the snapshots keep is put back too.

Where the savepoint may be gone (a commit in between, as `autocommit_block()` or
`transaction_per_migration` make) or cannot be set (an autocommit connection), the step
runs the real downgrade, as it always did.
"""

from __future__ import annotations

from collections.abc import Callable

from alembic import op
from sqlalchemy import text

from checks.schema.incremental import IncrementalSnapshots
from checks.schema_access import autocommits

SAVEPOINT = "alembic_verify_again"
# Setting the savepoint and taking the step back by it cost a few round trips: for a
# downgrade that ran quicker than this, running it again is as cheap, and simpler.
WORTH_S = 0.02


class Undo:
    def __init__(self, version_table: str, schema: str | None, tracker: IncrementalSnapshots | None) -> None:
        self.tracker = tracker
        self._table = f'"{schema}"."{version_table}"' if schema else f'"{version_table}"'
        self._marked: tuple[str, int, object] | None = None  # (revision, transaction id, catalog)
        self.rewound = 0  # steps taken back by the savepoint, for tests and the curious

    def mark(self, revision: str, connection, took: float) -> None:
        """After a revision's first downgrade (and its snapshot), which ran for `took`
        seconds: remember this state, if running the downgrade again would cost more."""
        self._marked = None
        if took < WORTH_S or autocommits(connection):
            return
        connection.exec_driver_sql(f"SAVEPOINT {SAVEPOINT}")
        xid = connection.exec_driver_sql("SELECT txid_current()").scalar()
        catalog = self.tracker.catalog.copy() if self.tracker and self.tracker.catalog else None
        self._marked = (revision, xid, catalog)

    def step(self, revision: str) -> Callable[[Callable], Callable]:
        """What the second downgrade of `revision` runs instead of its downgrade()."""
        def wrap(downgrade: Callable) -> Callable:
            def again(**kwargs) -> None:
                if not self._rewind(revision):
                    downgrade(**kwargs)
            return again
        return wrap

    def _rewind(self, revision: str) -> bool:
        marked, self._marked = self._marked, None
        if marked is None or marked[0] != revision:
            return False
        connection = op.get_bind()
        xid, rows = connection.exec_driver_sql(
            f"SELECT txid_current(), (SELECT array_agg(version_num::text) FROM {self._table})").one()
        if xid != marked[1]:
            return False  # committed since: the savepoint went with the transaction
        connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        connection.exec_driver_sql(f"DELETE FROM {self._table}")
        if rows:
            values = ", ".join(f"(:row{i})" for i in range(len(rows)))
            connection.execute(text(f"INSERT INTO {self._table} (version_num) VALUES {values}"),
                               {f"row{i}": row for i, row in enumerate(rows)})
        if self.tracker is not None:
            self.tracker.catalog = marked[2]
        self.rewound += 1
        return True
