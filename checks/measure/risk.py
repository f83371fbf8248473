"""Per revision, what it does to each table that existed before it, from what the fresh build
measured: the strongest lock it takes, what that blocks, and whether it rewrites or scans
the table while holding it. Tables the revision creates are left out: nobody else can be
waiting on them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from checks.measure.locks import ACCESS_EXCLUSIVE, Mode, mode, strongest
from checks.schema.queries import TRACKING_SCHEMA

TABLE_KINDS = ("table", "materialized view")


@dataclass
class TableRisk:
    table: str
    modes: set[str] = field(default_factory=set)  # lock modes the revision was seen taking on it
    held: set[str] = field(default_factory=set)  # modes held from before the revision it changed it under
    rewritten: set[str] = field(default_factory=set)  # the table and indexes of it whose storage was replaced
    scans: int = 0  # full scans of it
    outside: bool = False  # changed by a statement outside the transaction, whose locks are not measured
    texts: list[str] = field(default_factory=list)  # the statements behind the above
    # Of them, the ones that rewrote it and the ones that scanned it: what its fix is about.
    rewrite_texts: list[str] = field(default_factory=list)
    scan_texts: list[str] = field(default_factory=list)
    # Modes the revision held on it while rewriting it, and while scanning it in full.
    rewritten_under: set[str] = field(default_factory=set)
    scanned_under: set[str] = field(default_factory=set)
    # Whether a lock that blocks writes was taken with no lock_timeout in force: queued
    # behind a long query, it holds every other session up for as long as that query runs.
    unbounded: bool = False
    _so_far: set[str] = field(default_factory=set, repr=False)  # modes taken by the statements so far

    @property
    def attributed(self) -> bool:
        """Whether a captured statement is behind what was measured on it (else only the
        revision's totals are)."""
        return bool(self.texts) or not (self.modes or self.rewritten or self.scans)

    @property
    def hidden(self) -> bool:
        """Changed under a lock an earlier revision of the same transaction took, stronger
        than any it was seen taking: the lock this revision needs may be that one, and is not
        visible (a transaction takes a lock it holds only once)."""
        seen = strongest(self.modes)
        return bool(self.held) and (seen is None or strongest(self.held).rank > seen.rank)

    @property
    def lock(self) -> Mode | None:
        """The strongest lock taken; ACCESS EXCLUSIVE where the table was rewritten under a
        lock held from earlier (PostgreSQL replaces a table's storage under no other); the
        lock held from earlier where the table was read in full under it."""
        if self.implied:
            return ACCESS_EXCLUSIVE
        if self.scanned_while_held:
            return strongest(self.held)
        return strongest(self.modes)

    @property
    def implied(self) -> bool:
        return self.hidden and self.table in self.rewritten

    @property
    def scanned_while_held(self) -> bool:
        """Read in full under a lock that stops writes, held from an earlier revision of the
        same transaction, where it was seen taking none so strong: the scan lasts as long as
        the table is large, and every write waits for it all the same."""
        seen = strongest(self.scanned_under)
        return (self.hidden and not self.implied and self.scans > 0 and strongest(self.held).blocks_writes
                and (seen is None or not seen.blocks_writes))

    @property
    def rewritten_holding(self) -> Mode | None:
        return ACCESS_EXCLUSIVE if self.implied else strongest(self.rewritten_under)

    @property
    def scanned_holding(self) -> Mode | None:
        return strongest(self.held) if self.scanned_while_held else strongest(self.scanned_under)

    def took(self, name: str, lock_timeout: str | None, ordered: bool) -> None:
        """A lock mode taken; `ordered`: by a statement, in the order they ran."""
        self.modes.add(name)
        if ordered:
            self._so_far.add(name)
        if mode(name).blocks_writes and lock_timeout in (None, "0"):
            self.unbounded = True

    def rewrote(self, relation: str, ordered: bool, text: str | None = None) -> None:
        self.rewritten.add(relation)
        self.rewritten_under.update(self._so_far if ordered else self.modes)
        _add(self.rewrite_texts, text)

    def scanned(self, count: int, ordered: bool, text: str | None = None) -> None:
        self.scans += count
        self.scanned_under.update(self._so_far if ordered else self.modes)
        _add(self.scan_texts, text)

    def note(self, text: str | None) -> None:
        _add(self.texts, text)

    def to_json(self) -> dict:
        lock = self.lock
        return {"table": self.table, "lock": lock.sql if lock else None,
                "blocks": lock.blocks if lock else None,
                "lock_implied_by_rewrite": self.implied, "lock_held_from_earlier": self.hidden,
                "rewritten": sorted(self.rewritten), "full_scans": self.scans,
                "outside_transaction": self.outside, "lock_timeout": not self.unbounded,
                "statements": self.texts}


@dataclass
class RevisionRisk:
    revision: str
    tables: list[TableRisk]
    created: list[str]
    attributed: bool  # statements were captured one by one (else: the revision's totals alone)
    statements: list[dict]

    def to_json(self) -> dict:
        return {"revision": self.revision, "statements_attributed": self.attributed,
                "tables": [t.to_json() for t in self.tables], "created": self.created,
                "statements": self.statements}


def judge(revision: str, record: dict, ignored: Callable[[str], bool]) -> RevisionRisk:
    """`record` is projectside.measure's for one revision; `ignored(relation)` names the
    suite's own relations and the version table, which are no deploy risk."""
    statements = [s for s in record.get("statements") or () if s.get("measured")]
    totals = record.get("totals") or {}
    parts = [*statements, totals] if totals else statements
    created = {r["relation"] for part in parts for r in part.get("created") or ()}
    tables: dict[str, TableRisk] = {}

    def table_of(relation: dict) -> TableRisk | None:
        name = relation["relation"] if relation["kind"] in TABLE_KINDS else relation.get("table")
        if name is None or name in created or ignored(name):
            return None
        return tables.setdefault(name, TableRisk(name))

    # A lock only the totals show was taken at some point of the revision: the lock_timeout
    # its statements ran under is the one in force (a SET LOCAL lasts to the commit).
    in_force = next((s["lock_timeout"] for s in reversed(statements) if s.get("lock_timeout") is not None),
                    None)
    for part in parts:
        text = part.get("text")
        ordered = part is not totals
        # The revision's totals repeat what its statements showed: they add what no
        # statement did (locks, in any order), or all of it where no statement was captured.
        alone = ordered or not statements
        for lock in part.get("locks") or ():
            risk = table_of(lock)
            if risk is not None and lock["kind"] in TABLE_KINDS:
                risk.took(lock["mode"], part.get("lock_timeout", None if ordered else in_force), ordered)
                risk.note(text)
        for held in part.get("held") or ():
            risk = table_of(held)
            if risk is not None and held["kind"] in TABLE_KINDS:
                risk.held.add(held["mode"])
                risk.note(text)
        for relation in part.get("rewrites") or () if alone else ():
            risk = table_of(relation)
            if risk is not None:
                risk.rewrote(relation["relation"], ordered, text)
                risk.note(text)
        for scan in part.get("scans") or () if alone else ():
            risk = table_of(scan)
            if risk is not None:
                risk.scanned(scan["scans"], ordered, text)
                risk.note(text)
        if part.get("outside_transaction") and part is not totals:
            for key in ("created", "rewrites", "dropped"):
                _outside(part.get(key) or (), text, tables, created, ignored)
    shown = [_shown(s, ignored) for s in statements]
    attributed = bool(record.get("captured")) and all(t.attributed for t in tables.values())
    return RevisionRisk(revision, sorted(tables.values(), key=lambda t: t.table),
                        sorted(created - {c for c in created if ignored(c)}), attributed,
                        [s for s in shown if s is not None])


def _add(texts: list[str], text: str | None) -> None:
    if text and text not in texts:
        texts.append(text)


def _outside(relations, text: str | None, tables: dict, created: set, ignored) -> None:
    """Tables a statement outside the transaction changed: their locks went with its commit."""
    for relation in relations:
        owner = relation.get("table") or relation["relation"]
        if owner not in created and not ignored(owner):
            risk = tables.setdefault(owner, TableRisk(owner))
            risk.outside = True
            risk.note(text)


def _shown(statement: dict, ignored: Callable[[str], bool]) -> dict | None:
    """A statement as the report lists it: its facts on relations that are not ignored,
    lock modes as the manual names them; None when nothing is left to say."""
    def keep(items):
        return [dict(i) for i in items or () if not ignored(i.get("table") or i["relation"])]

    locks = [dict(i, mode=mode(i["mode"]).sql, blocks=mode(i["mode"]).blocks)
             for i in keep(statement.get("locks"))]
    facts = {"locks": locks, "held": [dict(i, mode=mode(i["mode"]).sql) for i in keep(statement.get("held"))],
             "rewrites": keep(statement.get("rewrites")), "scans": keep(statement.get("scans")),
             "created": keep(statement.get("created"))}
    outside = bool(statement.get("outside_transaction"))
    if not outside and not any(facts.values()):
        return None
    return {"text": statement["text"], "outside_transaction": outside,
            **{key: value for key, value in facts.items() if value}}


def ignoring(version_table: str, version_schema: str | None, suite_schemas: tuple[str, ...]):
    """What `judge` leaves out: the version table (Alembic's bookkeeping) and the suite's own
    schemas."""
    def ignored(relation: str) -> bool:
        schema, _, name = relation.rpartition(".")
        if schema in suite_schemas:
            return True
        return name == version_table and (version_schema is None or schema == version_schema)
    return ignored


def revision_risks(run, build) -> list[RevisionRisk]:
    """Per revision `build` (a checks.run.Build) walked, what it measured the revision doing
    to the tables before it."""
    ignored = ignoring(run.version_table, run.project.captured.options.get("version_table_schema"),
                       (TRACKING_SCHEMA,))
    return [judge(revision.revision, build.measured[revision.revision], ignored)
            for revision in build.walked if revision.revision in build.measured]
