"""The staircase's third step, taken back with the re-upgrade instead of run as a second downgrade.

Per revision the staircase runs down, up, and down again, each step committed as its own
`alembic` command would be; the third only returns the database to the state the first
one reached, which has been compared already. For a downgrade that takes time (data moved
back, a large table rewritten), the re-upgrade runs under a savepoint instead and, once
compared, is rolled back to it: its transaction then commits nothing, and the third step
runs no migration code, only Alembic's bookkeeping. Alembic still books that step (it
moves the version row from the revision to the one below), so the version table is put
back as the re-upgrade left it first, and its own update then finds what it expects. The
schema the snapshots keep is put back too.

Where the savepoint is gone when the re-upgrade ends (a commit inside it, as
`autocommit_block()` makes) or cannot be set (an autocommit connection), the third step
runs the real downgrade, as a quick one always does.
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
        self._took: dict[str, float] = {}  # each revision's first downgrade, in seconds
        self._marked: tuple[str, int, object] | None = None  # (revision, transaction id, catalog)
        self._rewound: tuple[str, list[str] | None] | None = None  # (revision, its version rows)
        self.rewound = 0  # steps taken back by the savepoint, for tests and the curious

    def downgraded(self, revision: str, took: float) -> None:
        """The first downgrade of `revision` ran for `took` seconds."""
        self._took[revision] = took

    def up(self, revision: str) -> Callable[[Callable], Callable]:
        """What the re-upgrade of `revision` runs: its upgrade(), under a savepoint when its
        downgrade is worth not running again."""
        def wrap(upgrade: Callable) -> Callable:
            def under_savepoint(**kwargs) -> None:
                self._mark(revision, op.get_bind())
                upgrade(**kwargs)
            return under_savepoint
        return wrap

    def _mark(self, revision: str, connection) -> None:
        self._marked = None
        if self._took.get(revision, 0.0) < WORTH_S or autocommits(connection):
            return
        connection.exec_driver_sql(f"SAVEPOINT {SAVEPOINT}")
        xid = connection.exec_driver_sql("SELECT txid_current()").scalar()
        catalog = self.tracker.catalog.copy() if self.tracker and self.tracker.catalog else None
        self._marked = (revision, xid, catalog)

    def take_back(self, revision: str, connection) -> None:
        """After the re-upgrade of `revision` was compared: roll it back to its savepoint, if
        it is still there."""
        marked, self._marked = self._marked, None
        if marked is None or marked[0] != revision:
            return
        xid, rows = connection.exec_driver_sql(
            f"SELECT txid_current(), (SELECT array_agg(version_num::text) FROM {self._table})").one()
        if xid != marked[1]:
            return  # committed since: the savepoint went with the transaction
        connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
        if self.tracker is not None:
            self.tracker.catalog = marked[2]
        self._rewound = (revision, rows)
        self.rewound += 1

    def again(self, revision: str) -> Callable[[Callable], Callable]:
        """What the second downgrade of `revision` runs instead of its downgrade()."""
        def wrap(downgrade: Callable) -> Callable:
            def again(**kwargs) -> None:
                if not self._book(revision):
                    downgrade(**kwargs)
            return again
        return wrap

    def _book(self, revision: str) -> bool:
        """Where the re-upgrade was taken back: the version rows it left, for Alembic's own
        update of this step to find."""
        rewound, self._rewound = self._rewound, None
        if rewound is None or rewound[0] != revision:
            return False
        connection = op.get_bind()
        connection.exec_driver_sql(f"DELETE FROM {self._table}")
        rows = rewound[1]
        if rows:
            values = ", ".join(f"(:row{i})" for i in range(len(rows)))
            connection.execute(text(f"INSERT INTO {self._table} (version_num) VALUES {values}"),
                               {f"row{i}": row for i, row in enumerate(rows)})
        return True
