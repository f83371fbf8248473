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
    taken_by: str = ""  # the statements of a migration that take it (the manual's examples)

    @property
    def blocks_writes(self) -> bool:
        return self.blocks in (WRITES, READS_AND_WRITES)


# SHARE and stronger conflict with ROW EXCLUSIVE, the lock INSERT, UPDATE and DELETE take;
# only ACCESS EXCLUSIVE conflicts with ACCESS SHARE, the lock of a plain SELECT. The weaker
# ones wait only for (and make wait) schema changes, VACUUM and index builds.
MODES = {mode.name: mode for mode in (
    Mode("AccessShareLock", "ACCESS SHARE", 1, DDL, "SELECT"),
    Mode("RowShareLock", "ROW SHARE", 2, DDL, "SELECT ... FOR UPDATE / FOR SHARE"),
    Mode("RowExclusiveLock", "ROW EXCLUSIVE", 3, DDL, "INSERT, UPDATE, DELETE, MERGE"),
    Mode("ShareUpdateExclusiveLock", "SHARE UPDATE EXCLUSIVE", 4, DDL,
         "VALIDATE CONSTRAINT, CREATE INDEX CONCURRENTLY, ANALYZE, VACUUM, ALTER TABLE ... SET STATISTICS"),
    Mode("ShareLock", "SHARE", 5, WRITES, "CREATE INDEX (without CONCURRENTLY)"),
    Mode("ShareRowExclusiveLock", "SHARE ROW EXCLUSIVE", 6, WRITES,
         "ADD FOREIGN KEY (on both tables), CREATE TRIGGER"),
    Mode("ExclusiveLock", "EXCLUSIVE", 7, WRITES, "REFRESH MATERIALIZED VIEW CONCURRENTLY"),
    Mode("AccessExclusiveLock", "ACCESS EXCLUSIVE", 8, READS_AND_WRITES,
         "most ALTER TABLE (types, defaults, NOT NULL, columns, renames), DROP TABLE, DROP INDEX, "
         "TRUNCATE, CLUSTER, VACUUM FULL, REFRESH MATERIALIZED VIEW"),
)}
ACCESS_EXCLUSIVE = MODES["AccessExclusiveLock"]


def mode(name: str) -> Mode:
    """The mode pg_locks calls `name`; one it does not know counts as the strongest."""
    return MODES.get(name) or Mode(name, name, ACCESS_EXCLUSIVE.rank, READS_AND_WRITES)


def strongest(names) -> Mode | None:
    modes = [mode(name) for name in names]
    return max(modes, key=lambda m: m.rank) if modes else None


# What a mode keeps other sessions from doing, as the README's table says it.
_WAITING = {READS_AND_WRITES: "every read and write of the table",
            WRITES: "INSERT, UPDATE, DELETE (reads go on)",
            DDL: "only schema changes and maintenance that conflict with it (reads and writes go on)"}


def markdown_table() -> list[str]:
    """The modes as a Markdown table, weakest first: the README's, generated from MODES."""
    lines = ["| lock mode | taken by | while held, other sessions wait for |", "| --- | --- | --- |"]
    for lock in sorted(MODES.values(), key=lambda m: m.rank):
        lines.append(f"| {lock.sql} | {lock.taken_by} | {_WAITING[lock.blocks]} |")
    return lines
