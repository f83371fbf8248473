"""What each statement of a migration does to the relations around it, read on the
migration's own session, inside its transaction, before anything commits it.

Around every statement the migration's connection runs (SQLAlchemy's cursor events, so
op.execute, op.* and a revision's own connection.execute alike), one catalog read before and
one after, through the raw DBAPI cursor (so neither is itself captured):

- locks: the relation locks this backend holds (pg_locks); those held after and not before
  are the ones the statement took. A lock the transaction already held, in the same mode,
  cannot be seen a second time: for a relation locked before the revision began that the
  statement changed (its catalog rows, written in this transaction, moved), the statement
  is said to have changed it under a lock held from earlier ("held").
- rewrites: relations whose storage was replaced (pg_class.relfilenode moved), among those
  that existed before the statement.
- scans: full scans of user tables (pg_stat_xact_user_tables.seq_scan), counted within the
  statement's transaction.

A statement run outside any transaction (Alembic's autocommit_block) releases its locks and
its transaction's counters before the read after it: it is marked so, and only its
rewrites are measured. Each revision also gets totals, read where the revision ends against
where it began, for work done where no event sees it (a raw DBAPI cursor).

Everything returned is plain data (lists, dicts, strings, numbers): it can travel as JSON.
"""

from __future__ import annotations

import json
import re

TEXT_LIMIT = 200
# Objects made by initdb have smaller OIDs: the catalogs, information_schema.
_FIRST_USER_OID = 16384
_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|START\s+TRANSACTION|PREPARE\s+"
                      r"TRANSACTION)\b", re.IGNORECASE)
_KINDS = {"r": "table", "p": "table", "m": "materialized view", "i": "index", "I": "index", "S": "sequence"}

# No % anywhere: the asyncpg adapter formats a statement even without parameters.
_STATE = """SELECT json_build_object(
 'tx', now()::text,
 'locks', (SELECT coalesce(json_agg(json_build_array(l.relation::bigint, l.mode)), '[]'::json)
           FROM pg_locks l WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
           AND l.granted AND l.relation >= '16384'::oid),
 'files', (SELECT coalesce(json_agg(json_build_array(c.oid::bigint, c.relfilenode::bigint)), '[]'::json)
           FROM pg_class c WHERE c.oid >= '16384'::oid AND c.relkind IN ('r', 'm', 'i', 'p', 'I', 'S')),
 'scans', (SELECT coalesce(json_agg(json_build_array(s.relid::bigint, s.seq_scan, s.seq_tup_read)),
                           '[]'::json)
           FROM pg_stat_xact_user_tables s WHERE s.seq_scan > 0),
 'marks', ({marks})
)::text"""

# Per relation this session holds a lock on, where its catalog rows written by this
# transaction stand (newest command id, count): a statement that changes the relation
# moves them, whether or not it needed a lock the transaction did not hold yet. Rows of
# this transaction are those no older than its own id (a savepoint's rows carry the
# savepoint's id, newer than its parent's; the only other transactions writing this
# database's catalogs would be ones the migration waits on).
_MARKS = """SELECT coalesce(json_agg(json_build_array(r.oid::bigint, json_build_array(
   (SELECT json_build_array(max(x.cmin::text::bigint), count(*)) FROM pg_class x
    WHERE x.oid = r.oid AND age(x.xmin) <= me.age),
   (SELECT json_build_array(max(x.cmin::text::bigint), count(*)) FROM pg_attribute x
    WHERE x.attrelid = r.oid AND age(x.xmin) <= me.age),
   (SELECT json_build_array(max(x.cmin::text::bigint), count(*)) FROM pg_constraint x
    WHERE x.conrelid = r.oid AND age(x.xmin) <= me.age),
   (SELECT json_build_array(max(x.cmin::text::bigint), count(*)) FROM pg_index x
    WHERE x.indrelid = r.oid AND age(x.xmin) <= me.age),
   (SELECT json_build_array(max(x.cmin::text::bigint), count(*)) FROM pg_attrdef x
    WHERE x.adrelid = r.oid AND age(x.xmin) <= me.age),
   (SELECT json_build_array(max(x.cmin::text::bigint), count(*)) FROM pg_trigger x
    WHERE x.tgrelid = r.oid AND age(x.xmin) <= me.age)))), '[]'::json)
 FROM (SELECT DISTINCT l.relation AS oid FROM pg_locks l WHERE l.pid = pg_backend_pid()
       AND l.locktype = 'relation' AND l.relation >= '16384'::oid) AS r,
      (SELECT age(mod(txid_current_if_assigned(), 4294967296)::text::xid) AS age) AS me"""

_NAMES = """SELECT coalesce(json_agg(json_build_array(c.oid::bigint, n.nspname, c.relname, c.relkind::text,
                                                   coalesce(i.indrelid, 0)::bigint)), '[]'::json)::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid WHERE c.oid IN ({oids})"""


class State:
    """One read: the transaction it ran in, the locks held, every relation's storage, the
    scans counted so far in the transaction, and the marks of the relations asked about."""

    def __init__(self, data: dict) -> None:
        self.tx = data["tx"]
        self.locks = {(oid, mode) for oid, mode in data["locks"]}
        self.files = {oid: node for oid, node in data["files"]}
        self.scans = {oid: (count, rows) for oid, count, rows in data["scans"]}
        self.marks = {oid: mark for oid, mark in data["marks"] or ()}

    def locked(self) -> set:
        return {oid for oid, _ in self.locks}


def _raw_cursor(connection):
    """A cursor of the DBAPI connection under `connection`, which SQLAlchemy's events never see."""
    return connection.connection.cursor()


def _one(connection, statement: str):
    cursor = _raw_cursor(connection)
    try:
        cursor.execute(statement)
        row = cursor.fetchone()
    finally:
        cursor.close()
    value = row[0] if row else None
    return json.loads(value) if isinstance(value, str) else value


_AROUND = _STATE.format(marks=_MARKS)
_BOUNDARY = _STATE.format(marks="SELECT NULL::json")


def read_state(connection, marks: bool = False) -> State:
    return State(_one(connection, _AROUND if marks else _BOUNDARY))


class Meter:
    """Statements measured on one connection since the revision began; `take()` hands them
    over with the revision's totals, `resume()` starts the next revision."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.statements: list = []
        self.names: dict = {}  # oid -> [schema, name, kind, table oid]
        self.failure: str | None = None  # why statements are not captured, if they are not
        self._pending: list = []  # per statement running: (its text, the read before it) or None
        self._start: State | None = None
        self._capturing = False
        self._listening = False

    # --- the revision boundary --------------------------------------------------------------
    def attach(self) -> Meter:
        from sqlalchemy import event

        try:
            event.listen(self.connection, "before_cursor_execute", self._before)
            event.listen(self.connection, "after_cursor_execute", self._after)
            self._listening = True
        except Exception as exc:  # noqa: BLE001 - a connection that takes no events: totals only
            self.failure = f"{type(exc).__name__}: {exc}"
        self.resume()
        return self

    def detach(self) -> None:
        from sqlalchemy import event

        self._capturing = False
        if self._listening:
            self._listening = False
            event.remove(self.connection, "before_cursor_execute", self._before)
            event.remove(self.connection, "after_cursor_execute", self._after)

    def resume(self) -> None:
        """The next revision begins here: what the suite read in between is not its."""
        self._start = self._read()
        self.statements, self._pending = [], []
        self._capturing = True

    def take(self) -> dict:
        """The revision just applied: its statements and its totals, as plain data."""
        self._capturing = False
        end = self._read()
        totals = _totals(self._start, end) if self._start is not None and end is not None else None
        involved = set()
        for one in [*self.statements, *([totals] if totals else [])]:
            involved.update(_oids(one))
        self._learn_names(involved, refresh=True)
        return {"captured": self._listening,
                "statements": [self._named(one) for one in self.statements],
                "totals": self._named(totals) if totals else None,
                "failure": self.failure}

    # --- around each statement --------------------------------------------------------------
    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not self._capturing or _CONTROL.match(statement or ""):
            self._pending.append(None)
            return
        self._pending.append((statement, self._read(marks=True)))

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        pending = self._pending.pop() if self._pending else None
        if pending is None or not self._capturing:
            return
        text, before = pending
        after = self._read(marks=True) if before is not None else None
        if after is None:
            self.statements.append({"text": _shorten(text), "measured": False})
        else:
            self.statements.append(_facts(_shorten(text), before, after))

    # --- reading ------------------------------------------------------------------------------
    def _read(self, marks: bool = False) -> State | None:
        """A read, or None where it failed: measuring never fails a migration. A read fails
        only where the migration's transaction already has (aborted, waiting for its
        ROLLBACK TO SAVEPOINT): the project's own statement then says why."""
        try:
            state = read_state(self.connection, marks)
        except Exception:  # noqa: BLE001
            return None
        self._learn_names(set(state.files))
        return state

    def _learn_names(self, oids: set, refresh: bool = False) -> None:
        wanted = oids if refresh else oids - set(self.names)
        if not wanted:
            return
        try:
            rows = _one(self.connection, _NAMES.format(oids=", ".join(str(int(o)) for o in sorted(wanted))))
        except Exception:  # noqa: BLE001 - names stay as last read
            return
        for oid, schema, name, kind, table in rows or ():
            self.names[oid] = [schema, name, kind, table]

    def _named(self, facts: dict) -> dict:
        """The facts with relation names in place of OIDs; TOAST relations and ones that
        lived only inside a statement (a rewrite's transient copy) left out."""
        named = dict(facts)
        for key in ("rewrites", "created", "dropped"):
            if named.get(key) is not None:
                named[key] = [self._relation(oid) for oid in named[key] if self._shown(oid)]
        for key in ("locks", "held"):
            if named.get(key) is not None:
                named[key] = [dict(self._relation(oid), mode=mode) for oid, mode in named[key]
                              if self._shown(oid)]
        if named.get("scans") is not None:
            named["scans"] = [dict(self._relation(oid), scans=count, rows=rows)
                              for oid, count, rows in named["scans"] if self._shown(oid)]
        return named

    def _shown(self, oid: int) -> bool:
        known = self.names.get(oid)
        return known is not None and known[2] in _KINDS and known[0] != "pg_toast"

    def _relation(self, oid: int) -> dict:
        schema, name, kind, table = self.names[oid]
        described = {"relation": f"{schema}.{name}", "kind": _KINDS[kind]}
        owner = self.names.get(table) if table else None
        if owner is not None:
            described["table"] = f"{owner[0]}.{owner[1]}"
        return described


def _facts(text: str, before: State, after: State) -> dict:
    """What one statement did, from the reads around it."""
    inside = before.tx == after.tx
    facts = {"text": text, "measured": True, "outside_transaction": not inside, **_storage(before, after)}
    if not inside:
        # Its own transaction ended with it, and released what it took.
        return dict(facts, locks=None, scans=None, held=None)
    facts["locks"] = sorted([oid, mode] for oid, mode in after.locks - before.locks)
    facts["scans"] = _scans(before, after)
    changed = {oid for oid in before.marks if before.marks[oid] != after.marks.get(oid)}
    changed |= set(before.marks) & set(facts["rewrites"] + facts["dropped"])
    changed -= {oid for oid, _ in facts["locks"]}
    facts["held"] = sorted([oid, mode] for oid, mode in before.locks if oid in changed)
    return facts


def _totals(start: State, end: State) -> dict:
    """What the whole revision did, from the reads where it began and where it ended."""
    inside = start.tx == end.tx
    # A commit in between released what was held: what is held now was taken since.
    locks = end.locks - start.locks if inside else end.locks
    return {"measured": True, "outside_transaction": not inside, **_storage(start, end),
            "locks": sorted([oid, mode] for oid, mode in locks),
            "scans": _scans(start, end) if inside else None}


def _storage(before: State, after: State) -> dict:
    existed = set(before.files)
    # Relations without storage of their own (partitioned ones) have relfilenode 0.
    moved = [oid for oid in existed & set(after.files) if before.files[oid] not in (0, after.files[oid])]
    return {"rewrites": sorted(moved),
            "created": sorted(set(after.files) - existed),
            "dropped": sorted(existed - set(after.files))}


def _scans(before: State, after: State) -> list:
    found = []
    for oid, (count, rows) in sorted(after.scans.items()):
        was = before.scans.get(oid, (0, 0))
        if count > was[0]:
            found.append([oid, count - was[0], max(rows - was[1], 0)])
    return found


def _oids(facts: dict) -> set:
    found = set()
    for key in ("rewrites", "created", "dropped"):
        found.update(facts.get(key) or ())
    for key in ("locks", "held", "scans"):
        found.update(item[0] for item in facts.get(key) or ())
    return found


def _shorten(text: str) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= TEXT_LIMIT else flat[:TEXT_LIMIT - 1] + "…"


def attach(connection) -> Meter:
    """Start measuring the statements `connection` runs (the migration's, as env.py
    configured it); call `take()` after each revision and `resume()` before the next."""
    return Meter(connection).attach()
