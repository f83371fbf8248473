"""PostgreSQL's table lock modes, weakest first, and what each one keeps other sessions from
doing while a migration holds it (the conflict table of the "Explicit Locking" chapter)."""

from __future__ import annotations

from dataclasses import dataclass

READS_AND_WRITES = "reads and writes"
WRITES = "writes only"
DDL = "DDL only"


@dataclass(frozen=True)
class Mode:
    name: str  # as pg_locks names it
    sql: str  # as LOCK TABLE and the manual name it
    rank: int  # stronger modes conflict with more
    blocks: str  # what other sessions wait for, in words

    @property
    def blocks_writes(self) -> bool:
        return self.blocks in (WRITES, READS_AND_WRITES)


# SHARE and stronger conflict with ROW EXCLUSIVE, the lock INSERT, UPDATE and DELETE take;
# only ACCESS EXCLUSIVE conflicts with ACCESS SHARE, the lock of a plain SELECT. The weaker
# ones wait only for (and make wait) schema changes, VACUUM and index builds.
MODES = {mode.name: mode for mode in (
    Mode("AccessShareLock", "ACCESS SHARE", 1, DDL),
    Mode("RowShareLock", "ROW SHARE", 2, DDL),
    Mode("RowExclusiveLock", "ROW EXCLUSIVE", 3, DDL),
    Mode("ShareUpdateExclusiveLock", "SHARE UPDATE EXCLUSIVE", 4, DDL),
    Mode("ShareLock", "SHARE", 5, WRITES),
    Mode("ShareRowExclusiveLock", "SHARE ROW EXCLUSIVE", 6, WRITES),
    Mode("ExclusiveLock", "EXCLUSIVE", 7, WRITES),
    Mode("AccessExclusiveLock", "ACCESS EXCLUSIVE", 8, READS_AND_WRITES),
)}
ACCESS_EXCLUSIVE = MODES["AccessExclusiveLock"]


def mode(name: str) -> Mode:
    """The mode pg_locks calls `name`; one it does not know counts as the strongest."""
    return MODES.get(name) or Mode(name, name, ACCESS_EXCLUSIVE.rank, READS_AND_WRITES)


def strongest(names) -> Mode | None:
    modes = [mode(name) for name in names]
    return max(modes, key=lambda m: m.rank) if modes else None
