"""What each statement of a migration does to the relations around it, read on the
migration's own session, inside its transaction, before anything commits it.

After every statement the migration's connection runs (SQLAlchemy's cursor events, so
op.execute, op.* and a revision's own connection.execute alike), one catalog read through
the raw DBAPI cursor (so it is not itself captured), compared with the read before it (made
again only where something in between may have changed it: a commit, a savepoint):

- locks: the relation locks this backend holds (pg_locks); those held after and not before
  are the ones the statement took. A lock the transaction already held, in the same mode,
  cannot be seen a second time: for a relation the statement changed (catalog rows of it
  written by the statement) under locks held already, those are reported as "held".
- rewrites: relations whose storage was replaced (pg_class.relfilenode moved), among those
  that existed before the statement; created and dropped relations.
- scans: full scans of user tables (pg_stat_xact_user_tables' seq_scan, seq_tup_read),
  counted within the statement's transaction, on every table it holds a lock on: a statement
  that reads a table it holds a lock on already (a data migration after an ALTER TABLE) takes
  no new lock and writes no catalog row, and its scan is still its own, not the next one's.

Which catalog rows a statement wrote is read from the rows this transaction wrote (no older
than its own transaction id; a savepoint's rows carry a newer one) whose command id is past
the newest one before the statement; counts of the rows written, of the locks held and of
the newest relation locked tell when there is nothing new to read.

A statement run outside any transaction (Alembic's autocommit_block) releases its locks and
its transaction's counters before the read after it: it is marked so, and only its
rewrites are measured. Each statement's own time (elapsed_ms, the reads around it left out)
is kept too: on a table of production size, it is how long the statement held what it took
before the next one ran. Each revision also gets totals, read where the revision ends
against where it began, for work done where no event sees it (a raw DBAPI cursor).

The reads are prepared once on the session and executed by name (see Prepared): a
migration's DDL keeps the drivers from keeping them prepared themselves, and planning the read
anew each time cost more than running it.

Everything returned is plain data (lists, dicts, strings, numbers): it can travel as JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable

TEXT_LIMIT = 200
_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE|START\s+TRANSACTION|PREPARE\s+"
                      r"TRANSACTION)\b", re.IGNORECASE)
# What makes a session forget the statements prepared on it.
_FORGETS = re.compile(r"\s*(DEALLOCATE|DISCARD)\b", re.IGNORECASE)
_KINDS = {"r": "table", "p": "table", "m": "materialized view", "i": "index", "I": "index", "S": "sequence"}
_TRANSACTION_EVENTS = ("begin", "commit", "rollback", "savepoint", "rollback_savepoint", "release_savepoint")

# OIDs from 16384 on are the database's own objects (initdb's are below). No % in the
# statements but their parameters' marks: the drivers format them.
# The catalogs whose rows describe a relation, and the column naming it.
_CATALOGS = (("pg_class", "oid"), ("pg_attribute", "attrelid"), ("pg_constraint", "conrelid"),
             ("pg_index", "indrelid"), ("pg_attrdef", "adrelid"), ("pg_trigger", "tgrelid"))


def _writes(catalogs) -> str:
    """Rows this transaction inserted, updated and deleted in `catalogs` so far: where the
    count has not moved since the last read, their rows need not be looked at."""
    return " + ".join(f"pg_stat_get_xact_tuples_{verb}('{catalog}'::regclass)"
                      for catalog, _ in catalogs for verb in ("inserted", "updated", "deleted"))


def _own(catalogs) -> str:
    """The rows of `catalogs` this transaction wrote since the command id `since`, per relation."""
    return " UNION ALL ".join(
        f"SELECT x.{column} AS rel, x.cmin::text::bigint AS cid FROM {catalog} x, me WHERE me.wrote "
        f"AND x.{column} >= '16384'::oid AND age(x.xmin) <= me.age AND x.cmin::text::bigint > me.since"
        for catalog, column in catalogs)


_DROPPED = "pg_stat_get_xact_tuples_deleted('pg_class'::regclass)"
# After each statement pg_class's rows are read (a rewrite, a new relation, most ALTER TABLEs
# write one), the other catalogs' where they were written and no other sign says which
# relation the statement changed (a column's type, NOT NULL, a default, a constraint), or
# where triggers were made (a foreign key changes the table it references there alone, once
# that table has one); the numbers of rows written tell when. `thorough`: every catalog's.
_OWN_CLASS, _OWN_REST = _own(_CATALOGS[:1]), _own(_CATALOGS[1:])
_RELATION = """SELECT json_build_array(c.oid::bigint, c.relfilenode::bigint, n.nspname, c.relname,
                           c.relkind::text, coalesce(i.indrelid, 0)::bigint) AS described
   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   LEFT JOIN pg_index i ON i.indexrelid = c.oid
   WHERE c.relkind IN ('r', 'm', 'i', 'p', 'I', 'S') AND {which}"""
# Every relation, or those the statement changed, each looked up by its OID (a subquery per
# relation: joined, the planner reads the whole of pg_class for a handful of rows).
_EVERY = _RELATION.format(which="c.oid >= '16384'::oid")
_CHANGED = _RELATION.format(which="c.oid = changed.rel")
_RELATIONS = {True: f"SELECT coalesce(json_agg(r.described), '[]'::json) FROM ({_EVERY}) r",
              False: "SELECT coalesce(json_agg(r.described) FILTER (WHERE r.described IS NOT NULL), "
                     f"'[]'::json) FROM (SELECT ({_CHANGED}) AS described FROM changed) r"}
# The locks are listed only where their number moved (within a transaction they are only
# ever added), each as "oid mode", " gone" after it where its relation has been dropped.
# Scans are counted on every table: a session's counts of a transaction it committed can
# still show until they are sent on, so each statement's are told from the read before it.
# The same text every time, the values as parameters: prepared once per session.
_READ = """WITH args AS (SELECT {0}::text AS tx, {1}::bigint AS since, {2}::bigint AS writes,
                        {3}::bigint AS locks, {4}::bigint AS dropped, {5}::oid AS newest,
                        {6}::bigint AS trigger_writes, {7}::bigint AS other_writes),
me AS MATERIALIZED (
  SELECT age(mod(txid_current_if_assigned(), 4294967296)::text::xid) AS age,
         CASE WHEN now()::text = args.tx THEN args.since ELSE -1 END AS since,
         now()::text = args.tx AS same, {writes} AS writes, {class_writes} AS class_writes,
         {trigger_writes} AS trigger_writes,
         NOT (now()::text = args.tx AND {dropped} = args.dropped) AS dropped,
         NOT (now()::text = args.tx AND {writes} = args.writes) AS wrote,
         args.locks AS known_locks, args.newest
  FROM args),
own_class AS MATERIALIZED ({own_class}),
need AS MATERIALIZED (
  SELECT {thorough} OR (me.same AND (me.trigger_writes <> args.trigger_writes OR
         (me.writes - me.class_writes <> args.other_writes AND NOT EXISTS (SELECT FROM own_class))))
         AS thorough
  FROM me, args),
own AS (SELECT * FROM own_class UNION ALL
        SELECT * FROM ({own_rest}) rest WHERE (SELECT thorough FROM need)),
changed AS (SELECT DISTINCT own.rel FROM own),
held AS MATERIALIZED (SELECT l.relation, l.mode FROM pg_locks l WHERE l.pid = pg_backend_pid()
                      AND l.locktype = 'relation' AND l.granted AND l.relation >= '16384'::oid),
-- whether the locks held are the ones known, and more only on relations newer than them all
kept AS (SELECT me.same AND NOT me.dropped
                AND (SELECT count(*) FROM held WHERE relation <= me.newest) = me.known_locks AS kept FROM me),
-- scans, of every table where the transaction is new to the reads, else of every table it
-- holds a lock on: a table is locked (ACCESS SHARE at least) by whatever reads it, until the
-- transaction ends, whether or not the statement that read it took a lock anew
counted AS MATERIALIZED (
  SELECT c.oid, pg_stat_get_xact_numscans(c.oid) AS scans, pg_stat_get_xact_tuples_returned(c.oid) AS rows
  FROM pg_class c, kept WHERE c.oid >= '16384'::oid AND c.relkind IN ('r', 'm', 'p')
  AND (NOT kept.kept OR c.oid IN (SELECT relation FROM held)))
SELECT json_build_object(
 'tx', now()::text,
 'lock_timeout', current_setting('lock_timeout'),
 'writes', (SELECT writes FROM me),
 'class_writes', (SELECT class_writes FROM me),
 'trigger_writes', (SELECT trigger_writes FROM me),
 'dropped', (SELECT {dropped} FROM me),
 'cid', (SELECT greatest((SELECT max(cid) FROM own), me.since) FROM me),
 'changed', (SELECT coalesce(json_agg(rel::bigint), '[]'::json) FROM changed),
 'relations', ({relations}),
 'kept', (SELECT kept FROM kept),
 'locks', (SELECT coalesce(string_agg(h.relation::text || ' ' || h.mode || CASE WHEN (SELECT dropped FROM me)
                  AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = h.relation) THEN ' gone' ELSE '' END,
                  ','), '')
           FROM held h WHERE NOT (SELECT kept FROM kept) OR h.relation > (SELECT newest FROM me)),
 'scans', (SELECT coalesce(json_agg(json_build_array(oid::bigint, scans, rows)), '[]'::json) FROM counted
           WHERE scans > 0)
)::text"""
# Where the transaction and its catalog writes stand: whether anything ran since a read.
_PROBE = f"SELECT now()::text || ',' || ({_writes(_CATALOGS)})::text"


class State:
    """One read: the transaction it ran in, the newest command id of the catalog rows it
    wrote, the relations those rows belong to, the locks held, the scans counted so far."""

    def __init__(self, data: dict, complete: bool, after: State | None) -> None:
        self.tx = data["tx"]
        self.lock_timeout = data["lock_timeout"]  # in force on the session ("0": none)
        self.writes = data["writes"]  # catalog rows written in the transaction so far
        self.class_writes = data["class_writes"]  # of them, pg_class's
        self.trigger_writes = data["trigger_writes"]  # and pg_trigger's
        self.deletions = data["dropped"]  # pg_class rows deleted: relations dropped
        self.cid = data["cid"] if data["cid"] is not None else -1
        self.changed = set(data["changed"])
        # oid -> relfilenode, schema, name, kind, the table of an index
        self.relations = {row[0]: row[1:] for row in data["relations"]}
        self.complete = complete  # every relation, not only the changed ones
        # The locks listed: all of them, or (`kept`) those added to `after`'s on newer relations.
        held = [entry.split(" ") for entry in data["locks"].split(",") if entry]
        listed = {(int(entry[0]), entry[1]) for entry in held}
        self.locks = after.locks | listed if data["kept"] else listed
        # The newest relation locked: kept by the next read, which lists only locks newer than it.
        self.newest = max([oid for oid, _ in listed] + ([after.newest] if data["kept"] else []), default=0)
        self.gone = {int(entry[0]) for entry in held if len(entry) > 2}  # locked, and dropped since
        # Full scans counted so far per table: those read now (every table the transaction
        # holds a lock on), the others as `after` had them (where not `kept`, every table).
        read = {oid: (count, rows) for oid, count, rows in data["scans"]}
        self.scans = {**after.scans, **read} if data["kept"] else read

    def locked(self) -> set:
        return {oid for oid, _ in self.locks}


def _one(connection, statement: str, parse: bool = True, args: tuple | None = None, rows: bool = True):
    """The first column of the first row (read as JSON), through a cursor SQLAlchemy's events
    never see; `rows=False` for a statement that returns none."""
    cursor = connection.connection.cursor()
    try:
        if args is None:
            cursor.execute(statement)
        else:
            cursor.execute(statement, args)
        row = cursor.fetchone() if rows else None
    finally:
        cursor.close()
    value = row[0] if row else None
    return json.loads(value) if parse and isinstance(value, str) else value


_STATEMENTS: dict = {}
_TYPES = "text, bigint, bigint, bigint, bigint, oid, bigint, bigint"  # of the read's arguments, in order


def _statement(marks: str, complete: bool, thorough: bool) -> str:
    """The read, its arguments as `marks` has them: "%s" (the drivers' format), "$" ($1 to
    $8, as PREPARE wants them)."""
    key = (marks, complete, thorough)
    if key not in _STATEMENTS:
        places = [f"${n}" for n in range(1, 9)] if marks == "$" else [marks] * 8
        _STATEMENTS[key] = _READ.format(*places, writes=_writes(_CATALOGS), dropped=_DROPPED,
                                        class_writes=_writes(_CATALOGS[:1]),
                                        trigger_writes=_writes(_CATALOGS[-1:]), own_class=_OWN_CLASS,
                                        own_rest=_OWN_REST, thorough="true" if thorough else "false",
                                        relations=_RELATIONS[complete])
    return _STATEMENTS[key]


def _paramstyle(connection) -> str:
    dialect = connection.dialect
    dbapi = getattr(dialect, "loaded_dbapi", None) or dialect.dbapi  # SQLAlchemy 2, 1.4
    return getattr(dbapi, "paramstyle", "format")


def _literal(value) -> str:
    """An argument written into EXECUTE's text (a utility statement takes no parameters):
    numbers as they are, text quoted."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(int(value))


class Prepared:
    """The reads prepared once on the measured session and executed by name after each
    statement: planned anew every time, a read cost several times what running it does.

    A prepared statement lives as long as the session, whatever becomes of the transaction
    it was made in. Each gets a name no other meter uses (a session an app keeps between
    env.py runs may hold an older meter's), made anew where the session may have lost it: a
    new DBAPI connection, the project's own DEALLOCATE or DISCARD. psycopg 3 deallocates
    every statement it prepared itself once the server reports an ALTER, a DROP or a
    ROLLBACK, ours with them: while measuring, it prepares none (as it does on a
    connection with prepare_threshold=None), and its setting is put back afterwards.

    Left to choose, the server plans the read anew for most of its runs (its estimates favour
    a plan made for the values at hand), which costs more than running it: while measuring,
    the session runs prepared statements on their one generic plan (plan_cache_mode), the
    project's own too (asyncpg prepares every statement: the same results, perhaps by
    another plan), and its setting is put back afterwards."""

    _serial = 0

    def __init__(self, connection) -> None:
        self.connection = connection
        self.names: dict = {}  # (complete, thorough) -> the statement's name on `session`
        self.session = None  # the DBAPI connection they were prepared on
        self.failed = False  # not to be trusted with them: the reads are sent whole
        self._threshold: tuple | None = None  # (psycopg 3 connection, its prepare_threshold)
        self._plan_mode: str | None = None  # the session's plan_cache_mode, while ours is in force

    def hold(self) -> None:
        if (getattr(self.connection.dialect, "server_version_info", None) or ()) >= (12,):
            # It fails where a transaction failed already: plans chosen per run, as before.
            with contextlib.suppress(Exception):
                mode = _one(self.connection, "SELECT current_setting('plan_cache_mode')", parse=False)
                _one(self.connection, "SET plan_cache_mode = force_generic_plan", rows=False)
                self._plan_mode = mode
        if getattr(self.connection.dialect, "driver", "") not in ("psycopg", "psycopg_async"):
            return
        raw = _driver_connection(self.connection)
        cache = getattr(raw, "_prepared", None)
        if not hasattr(raw, "prepare_threshold") or not hasattr(cache, "clear"):
            self.failed = True  # a psycopg 3 unlike the ones known: it could drop ours unseen
            return
        self._threshold = (raw, raw.prepare_threshold)
        raw.prepare_threshold = None
        cache.clear()  # those it made already go now, before ours are made

    def release(self) -> None:
        if self._plan_mode is not None:
            # It fails where the transaction has, or the session is gone: their setting went with them.
            with contextlib.suppress(Exception):
                _one(self.connection, f"SET plan_cache_mode = {_literal(self._plan_mode)}", rows=False)
            self._plan_mode = None
        if self._threshold is not None:
            raw, threshold = self._threshold
            raw.prepare_threshold = threshold
            self._threshold = None

    def forget(self) -> None:
        """The session may have lost them: made again under new names before the next read."""
        self.names = {}

    def run(self, key, text: Callable[[str], str], args: tuple = (), parse: bool = True):
        """The statement `text(marks)` gives, prepared under `key` the first time."""
        if self.failed:
            return _one(self.connection, text(_marks(self.connection)), parse=parse, args=args or None)
        session = _dbapi_connection(self.connection)
        if session is not self.session:
            self.session, self.names = session, {}
        if key not in self.names:
            Prepared._serial += 1
            name = f"alembic_preflight_read_{os.getpid()}_{Prepared._serial}"
            types = f" ({_TYPES})" if args else ""
            # A transaction already failed refuses it, as it would the read: tried again next time.
            _one(self.connection, f"PREPARE {name}{types} AS {text('$')}", rows=False)
            self.names[key] = name
        arguments = f"({', '.join(map(_literal, args))})" if args else ""
        return _one(self.connection, f"EXECUTE {self.names[key]}{arguments}", parse=parse)


def _dbapi_connection(connection):
    fairy = connection.connection
    return getattr(fairy, "dbapi_connection", None) or getattr(fairy, "connection", None)


def _driver_connection(connection):
    """The driver's own connection (under SQLAlchemy's adapter, for an async driver)."""
    fairy = connection.connection
    found = getattr(fairy, "driver_connection", None)
    if found is None:
        found = _dbapi_connection(connection)
        found = getattr(found, "_connection", found)
    return found


def _marks(connection) -> str:
    return "$" if _paramstyle(connection) == "numeric_dollar" else "%s"


def read_state(prepared: Prepared, after: State | None = None, complete: bool = False,
               thorough: bool = False) -> State:
    """The state now, on `prepared`'s connection, with the relations written since `after`
    (in its transaction), or all; `thorough`: the rows of every catalog that describes a
    relation, not pg_class's alone (read without it where pg_class's cannot say which
    relations were changed)."""
    args = ("", -1, -1, -1, -1, 0, -1, -1) if after is None else \
        (after.tx, after.cid, after.writes, len(after.locks), after.deletions, after.newest,
         after.trigger_writes, after.writes - after.class_writes)
    data = prepared.run((complete, thorough), lambda marks: _statement(marks, complete, thorough), args)
    return State(data, complete, after)


class Meter:
    """Statements measured on one connection since the revision began; `take()` hands them
    over with the revision's totals, `resume()` starts the next revision."""

    def __init__(self, connection, version_table: str = "alembic_version") -> None:
        self.connection = connection
        self.statements: list = []
        self.relations: dict = {}  # oid -> [relfilenode, schema, name, kind, table oid], as last read
        self.present: set = set()  # the relations that exist, as far as the reads have seen
        self.failure: str | None = None  # why statements are not captured, if they are not
        self._bookkeeping = re.compile(
            rf"\s*(UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+(\S+\.)?\"?{re.escape(version_table)}\"?\s", re.I)
        self._pending: list = []  # per statement running: (its text, the read before it) or None
        self._known: State | None = None  # the last read, current unless `_stale`
        self._stale = True
        self._start: State | None = None
        self._start_relations: dict = {}
        self._start_present: set = set()
        self._capturing = False
        self._listening = False
        self._prepared = Prepared(connection)

    # --- the revision boundary --------------------------------------------------------------
    def attach(self) -> Meter:
        from sqlalchemy import event

        try:
            event.listen(self.connection, "before_cursor_execute", self._before)
            event.listen(self.connection, "after_cursor_execute", self._after)
            for name in _TRANSACTION_EVENTS:
                event.listen(self.connection, name, self._invalidate)
            self._listening = True
        except Exception as exc:  # noqa: BLE001 - a connection that takes no events: totals only
            self.failure = f"{type(exc).__name__}: {exc}"
        self._prepared.hold()
        self._refresh(complete=True)
        self.resume()
        return self

    def detach(self) -> None:
        from sqlalchemy import event

        self._capturing = False
        self._prepared.release()
        if self._listening:
            self._listening = False
            event.remove(self.connection, "before_cursor_execute", self._before)
            event.remove(self.connection, "after_cursor_execute", self._after)
            for name in _TRANSACTION_EVENTS:
                event.remove(self.connection, name, self._invalidate)

    def resume(self, reread: bool = False) -> None:
        """The next revision begins here. `reread` where the suite read tables in between
        (their locks and scans are not the revision's); catalogs it may read freely."""
        if reread or self._known is None:
            self._refresh()
        self._start = self._known
        self._start_relations, self._start_present = dict(self.relations), set(self.present)
        self.statements, self._pending = [], []
        self._capturing = True

    def take(self) -> dict:
        """The revision just applied: its statements and its totals, as plain data."""
        self._capturing = False
        start, last = self._start, self._known
        totals = None
        if start is not None and last is not start and not self._stale and self._unchanged_since(last):
            # No catalog row written since the last statement's read: the revision changed
            # what its statements changed, and holds what the last one left held.
            storage = {key: sorted({oid for one in self.statements for oid in one.get(key) or ()})
                       for key in ("rewrites", "created", "dropped")}
            totals = _totals(start, last, storage)
        elif start is not None:
            end = self._read(start, complete=True, thorough=True)
            if end is not None:
                totals = _totals(start, end, _storage(end, self._start_relations, self._start_present))
                self._learn(end)
                self._known, self._stale = end, False
        return {"captured": self._listening,
                "statements": [self._named(one) for one in self.statements],
                "totals": self._named(totals) if totals else None,
                "failure": self.failure}

    # --- around each statement --------------------------------------------------------------
    def _invalidate(self, *args, **kwargs) -> None:
        self._stale = True

    def _before(self, conn, cursor, statement, parameters, context, executemany) -> None:
        text = statement or ""
        if _FORGETS.match(text):
            self._prepared.forget()
        if not self._capturing or _CONTROL.match(text) or self._bookkeeping.match(text):
            self._pending.append(None)
            if _CONTROL.match(text):
                self._stale = True
            return
        if self._stale:
            self._refresh()
        self._pending.append((statement, self._known, time.perf_counter()))

    def _after(self, conn, cursor, statement, parameters, context, executemany) -> None:
        pending = self._pending.pop() if self._pending else None
        if pending is None or not self._capturing:
            return
        text, before, started = pending
        # The statement's own time, the reads around it left out: how long it held what it took.
        elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
        after = self._read(before) if before is not None else None
        if after is not None and after.tx != before.tx:
            after = self._read(before, complete=True)
        if after is None:
            self.statements.append({"text": _shorten(text), "measured": False, "elapsed_ms": elapsed_ms})
            self._stale = True
            return
        self.statements.append(dict(_facts(_shorten(text), before, after, self.relations, self.present),
                                    elapsed_ms=elapsed_ms))
        self._learn(after)
        self._known, self._stale = after, False

    # --- reading ------------------------------------------------------------------------------
    def _unchanged_since(self, state: State) -> bool:
        try:
            probe = self._prepared.run("probe", lambda marks: _PROBE, parse=False)
        except Exception:  # noqa: BLE001 - see _read
            return False
        return probe == f"{state.tx},{state.writes}"

    def _refresh(self, complete: bool = False) -> None:
        state = self._read(self._known, complete)
        if state is not None:
            self._learn(state)
            self._known, self._stale = state, False

    def _read(self, after: State | None, complete: bool = False, thorough: bool = False) -> State | None:
        """A read, or None where it failed: measuring never fails a migration. A read fails
        only where the migration's transaction already has (aborted, waiting for its
        ROLLBACK TO SAVEPOINT): the project's own statement then says why."""
        try:
            return read_state(self._prepared, after, complete, thorough)
        except Exception:  # noqa: BLE001
            return None

    def _learn(self, state: State) -> None:
        for oid, row in state.relations.items():
            self.relations[oid] = list(row)
        if state.complete:
            self.present = set(state.relations)
        else:
            self.present = (self.present | set(state.relations)) - state.gone

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
        known = self.relations.get(oid)
        return known is not None and known[3] in _KINDS and known[1] != "pg_toast"

    def _relation(self, oid: int) -> dict:
        _, schema, name, kind, table = self.relations[oid]
        described = {"relation": f"{schema}.{name}", "kind": _KINDS[kind]}
        owner = self.relations.get(table) if table else None
        if owner is not None:
            described["table"] = f"{owner[1]}.{owner[2]}"
        return described


def _storage(after: State, relations: dict, present: set) -> dict:
    """Relations created, rewritten and dropped since `relations` and `present` were read."""
    moved = [oid for oid, row in after.relations.items()
             if oid in present and relations[oid][0] not in (0, row[0])]  # 0: no storage of its own
    gone = present - set(after.relations) if after.complete else present & after.gone
    return {"rewrites": sorted(moved), "created": sorted(set(after.relations) - present),
            "dropped": sorted(gone)}


def _facts(text: str, before: State, after: State, relations: dict, present: set) -> dict:
    """What one statement did, from the reads around it."""
    facts = {"text": text, "measured": True, "outside_transaction": after.tx != before.tx,
             **_storage(after, relations, present)}
    if facts["outside_transaction"]:
        # Its own transaction ended with it, and released what it took.
        return dict(facts, locks=None, scans=None, held=None)
    facts["locks"] = sorted([oid, mode] for oid, mode in after.locks - before.locks)
    facts["lock_timeout"] = after.lock_timeout
    facts["scans"] = _scans(before, after)
    changed = after.changed | set(facts["rewrites"]) | set(facts["dropped"])
    # An index made, rebuilt or changed changes its table too.
    changed |= {after.relations[oid][4] for oid in changed if after.relations.get(oid, (0,) * 5)[4]}
    changed -= {oid for oid, _ in facts["locks"]}
    facts["held"] = sorted([oid, mode] for oid, mode in before.locks if oid in changed)
    return facts


def _totals(start: State, end: State, storage: dict) -> dict:
    """What the whole revision did, from the reads where it began and where it ended."""
    inside = start.tx == end.tx
    # A commit in between released what was held: what is held now was taken since.
    locks = end.locks - start.locks if inside else end.locks
    totals = {"measured": True, "outside_transaction": not inside, **storage,
              "locks": sorted([oid, mode] for oid, mode in locks),
              "scans": _scans(start, end) if inside else None, "held": None}
    if inside and end.cid != start.cid:
        changed = end.changed | set(totals["rewrites"]) | set(totals["dropped"])
        changed -= {oid for oid, _ in locks}
        totals["held"] = sorted([oid, mode] for oid, mode in start.locks if oid in changed)
    return totals


def _scans(before: State, after: State) -> list:
    found = []
    for oid, (count, rows) in sorted(after.scans.items()):
        was = before.scans.get(oid, (0, 0))
        if count > was[0]:
            found.append([oid, count - was[0], max(rows - was[1], 0)])
    return found


def _shorten(text: str) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= TEXT_LIMIT else flat[:TEXT_LIMIT - 1] + "…"


def attach(connection, version_table: str = "alembic_version") -> Meter:
    """Start measuring the statements `connection` runs (the migration's, as env.py
    configured it), leaving out Alembic's writes to `version_table`; call `take()` after
    each revision and `resume()` before the next."""
    return Meter(connection, version_table).attach()
