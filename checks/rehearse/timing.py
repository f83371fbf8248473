"""One revision rehearsed: the history up to the revision before it, applied once to a
throwaway database (the template), then for each size a copy of it with every table filled
to that many rows (checks/sample_rows.py, the drills' rows in bulk), vacuumed and
analyzed as a production table is, and the revision applied to it by the project's own
env.py, measured as the fresh build measures it: per statement, the locks taken and the
statement's own time.

How long a table stays locked is the time from the statement that first took the lock to
the revision's end (its commit, where env.py commits each revision): the sum of the own
times of those statements.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field

import psycopg
from alembic.script import Script
from psycopg import sql

from checks import sample_rows as generated
from checks.errors import MigrationError
from checks.measure.locks import MODES, mode
from checks.rehearse import scale
from checks.run import Run

# Stronger than ROW EXCLUSIVE (what INSERT, UPDATE and DELETE take): a lock worth timing.
WORTH_TIMING = MODES["RowExclusiveLock"].rank
_TABLE_KINDS = ("table", "materialized view")
REPEATS = 3  # runs of the revision per size, on copies of the same rows


class OutOfTime(Exception):
    """The rehearsal's time ran out while it was running."""


@dataclass
class Timing:
    """The revision applied once, on tables of `rows` rows."""

    rows: dict[str, int]  # "schema.table" -> rows it was filled with
    held_ms: dict[str, float] = field(default_factory=dict)  # per table: how long its lock was held
    statements: list[tuple[str, float]] = field(default_factory=list)  # (text, its own ms)
    unfilled: list[str] = field(default_factory=list)  # tables the generator could not fill
    error: MigrationError | None = None


def held(record: dict, tables: set[str]) -> dict[str, float]:
    """Per table of `tables`, the time from the first statement that took (or changed it under)
    a lock stronger than ROW EXCLUSIVE on it to the revision's end; a table no statement is
    seen locking (a raw DBAPI cursor) is counted over every statement."""
    statements = [s for s in record.get("statements") or () if s.get("elapsed_ms") is not None]
    found = {}
    for table in tables:
        first = next((i for i, s in enumerate(statements) if _locks(s, table)), 0)
        found[table] = round(sum(s["elapsed_ms"] for s in statements[first:]), 3)
    return found


def _locks(statement: dict, table: str) -> bool:
    for lock in (statement.get("locks") or []) + (statement.get("held") or []):
        if lock.get("kind") in _TABLE_KINDS and lock["relation"] == table \
                and mode(lock["mode"]).rank > WORTH_TIMING:
            return True
    return False


def _touched(statement: dict) -> bool:
    """Whether a statement locked, changed or scanned a relation (a bare SELECT of a function,
    as the suite's own pg_backend_pid() before the first revision, did not)."""
    return bool(statement.get("outside_transaction")) or any(
        statement.get(key) for key in ("locks", "held", "rewrites", "scans", "created", "dropped"))


def _checkpoint(conn: psycopg.Connection) -> None:
    """Write out what filling dirtied, so that the revision does not pay for it (or does not
    depending on when the server's own checkpoint comes): only its own work is timed. A role
    that may not ask for one (before PostgreSQL 15, only a superuser may) times it as is."""
    with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
        conn.execute("CHECKPOINT")


class Rehearsal:
    """The template for one revision; `time_at` applies the revision on a filled copy of it."""

    def __init__(self, run: Run, order: list[Script], index: int, deadline: float,
                 after: Rehearsal | None = None) -> None:
        """`after`: an earlier revision's rehearsal, whose template the history goes on from."""
        self.run = run
        self.index = index
        self.revision = order[index]
        self.deadline = deadline
        self.template: str | None = None
        self.widths: dict[str, int] = {}  # "schema.table" -> bytes a generated row takes
        self._quoted: dict[str, str] = {}  # "schema.table" -> as SQL names it
        start = after.index if after is not None and after.template is not None else 0
        with run.work_database("rehearse", template=after.template if start else None) as db:
            with run.server.connect(db.name) as conn:
                self._limit(conn, db.name)
            if not start:
                run.project.bootstrap(db)
            walk = run.walk_up(db, order[start:index], None, "rehearse")
        self.template = db.name
        if walk.error is not None:
            self.close()
            raise walk.error
        with run.server.connect(self.template) as conn:
            for quoted in generated.tables(conn, run.version_table):
                name, width = scale.row_bytes(conn, quoted)
                self.widths[name], self._quoted[name] = width, quoted

    def time_at(self, rows: dict[str, int], locked: set[str], repeats: int = REPEATS) -> Timing:
        """Fill a copy of the template to `rows` ("schema.table" -> rows) and apply the revision
        to `repeats` copies of that; `locked`: the tables to time its lock on. The fastest run
        counts: what makes one slower is the machine's other work, not the revision's."""
        run = self.run
        filled = run.server.create_database("rehearse", template=self.template)
        try:
            with run.server.connect(filled) as conn:
                self._limit(conn)
                wanted = {self._quoted[t]: n for t, n in rows.items() if t in self._quoted}
                unfilled = generated.fill(conn, run.version_table, wanted)
                conn.execute("VACUUM (FREEZE, ANALYZE)")
            best = None
            for _ in range(repeats):
                timing = self._apply(filled, rows, locked)
                if timing.error is not None:
                    best = timing
                    break
                if best is None or sum(timing.held_ms.values()) < sum(best.held_ms.values()):
                    best = timing
        except psycopg.errors.QueryCanceled:
            raise OutOfTime() from None
        finally:
            run.server.drop_database(filled)
        best.unfilled = unfilled
        return best

    def _apply(self, filled: str, rows: dict[str, int], locked: set[str]) -> Timing:
        run = self.run
        timing = Timing(rows)
        with run.work_database("rehearse", template=filled) as db:
            with run.server.connect(db.name) as conn:
                self._limit(conn, db.name)
                _checkpoint(conn)
            walk = run.walk_up(db, [self.revision], None, "rehearse", measure=True)
        run.server.drop_database(db.name)
        if walk.error is not None:
            if time.monotonic() >= self.deadline:
                raise OutOfTime()
            timing.error = walk.error
            return timing
        record = walk.measured.get(self.revision.revision) or {}
        timing.held_ms = held(record, locked)
        timing.statements = [(s["text"], s["elapsed_ms"]) for s in record.get("statements") or ()
                             if s.get("elapsed_ms") is not None and _touched(s)]
        return timing

    def _limit(self, conn: psycopg.Connection, database: str | None = None) -> None:
        """No statement on `conn` (and on `database`, for the sessions env.py opens) outlives
        the rehearsal's time."""
        left_ms = int((self.deadline - time.monotonic()) * 1000)
        if left_ms <= 0:
            raise OutOfTime()
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(left_ms)))
        if database is not None:
            conn.execute(sql.SQL("ALTER DATABASE {} SET statement_timeout = {}").format(
                sql.Identifier(database), sql.Literal(left_ms)))

    def close(self) -> None:
        if self.template is not None:
            self.run.server.drop_database(self.template)
            self.template = None
