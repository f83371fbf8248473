"""The catalog read into parts keyed by oid, so a snapshot can re-read only some of them.

A full snapshot reads every part; an incremental one (`checks.schema.incremental`)
re-reads the relations, types and functions a migration step touched and keeps the
rest. Both assemble the Snapshot the same way, from the same parts, so they agree by
construction wherever the parts agree.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from dataclasses import dataclass, field

import psycopg

from checks.schema import prepared, queries, tracking
from checks.schema.snapshot import (
    Column,
    Constraint,
    DefaultPrivilege,
    Domain,
    Index,
    Policy,
    Privilege,
    Sequence,
    Snapshot,
    Table,
    Trigger,
    View,
    display_name,
)

_TABLE_KINDS = {"r": "table", "p": "partitioned table", "f": "foreign table"}

# Everything keyed by a relation's oid; all of it is re-read when the relation is touched.
_RELATION_QUERIES = (queries.RELATIONS, queries.COLUMNS, queries.CONSTRAINTS, queries.INDEXES)
_PARTIAL_QUERIES = (*_RELATION_QUERIES, queries.TRIGGERS, queries.POLICIES, queries.SEQUENCES, queries.ENUMS,
                    queries.DOMAINS, queries.FUNCTIONS)
# Read in full when a schema changed (and with every grant, when grants changed).
_WHOLE_QUERIES = (queries.SCHEMAS, queries.EXTENSIONS, queries.DEFAULT_PRIVILEGES)
_PER_RELATION = ("relations", "columns", "constraints", "indexes", "row_security", "relation_grants")
_TABLE_FIELDS = ("kind", "comment", "partition_key", "partition_of", "partition_bound")


@dataclass
class Catalog:
    schemas: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    # relation oid -> (schema, name) and what belongs to it
    relations: dict[int, tuple[str, str, Table | View]] = field(default_factory=dict)
    columns: dict[int, dict[str, Column]] = field(default_factory=dict)
    constraints: dict[int, tuple[Constraint, ...]] = field(default_factory=dict)
    indexes: dict[int, tuple[Index, ...]] = field(default_factory=dict)
    index_tables: dict[int, int] = field(default_factory=dict)  # index oid -> its table's oid
    triggers: dict[int, tuple[Trigger, ...]] = field(default_factory=dict)
    policies: dict[int, tuple[Policy, ...]] = field(default_factory=dict)
    row_security: dict[int, str] = field(default_factory=dict)
    # Grants come with the object they are on, read by the same query (a relation's own
    # and its columns' in `relation_grants`, the last item of a sequence's or function's).
    relation_grants: dict[int, tuple[Privilege, ...]] = field(default_factory=dict)
    sequences: dict[int, tuple[str, str, Sequence, tuple[Privilege, ...]]] = field(default_factory=dict)
    enums: dict[int, tuple[str, str, tuple[str, ...]]] = field(default_factory=dict)
    domains: dict[int, tuple[str, str, Domain]] = field(default_factory=dict)
    functions: dict[int, tuple[str, str, str, str, tuple[Privilege, ...]]] = field(default_factory=dict)
    schema_grants: tuple[Privilege, ...] = ()
    default_privileges: tuple[DefaultPrivilege, ...] = ()
    # Every part read so far, by value, shared with copies: a part read again that equals
    # one seen before is that one, so snapshots of equal schemas are made of the same
    # objects and compare equal on identity. Otherwise a table re-read on a clone compares
    # field by field against the build's at every later step of the walk (1 s of a
    # 500-revision round trip, and growing faster than the history).
    seen: dict = field(default_factory=dict, repr=False, compare=False)

    def copy(self) -> Catalog:
        """A copy whose maps can change without touching this one (the parts are shared)."""
        return Catalog(**{name: value if name == "seen" else copy.copy(value)
                          for name, value in vars(self).items()})

    def _same(self, part, key=None):
        """The part equal to `part` read before (found by `key`, if `part` is not hashable)."""
        return self.seen.setdefault(part if key is None else key, part)

    def relation_oid(self, schema: str, name: str) -> int | None:
        return next((oid for oid, (s, n, _) in self.relations.items() if (s, n) == (schema, name)), None)

    # --- reading ------------------------------------------------------------------
    def read(self, conn, version_table: str, *, everything: bool = False, schemas: bool = False,
             relations: set[int] = frozenset(), types: set[int] = frozenset(),
             functions: set[int] = frozenset(), sequences: set[int] = frozenset(),
             triggers: set[int] = frozenset(), policies: set[int] = frozenset(),
             grants: bool = False, prepared_with: tuple[str, ...] = ()) -> None:
        """Re-read the named objects (all of them with `everything`); what is gone is dropped.

        Tables' triggers and policies, and sequences, are read for the oids named in their
        own sets: most steps touch none of them, and a query not sent costs nothing. Each
        object read comes with its grants; `grants` reads those of every object again.
        `prepared_with` as for `fetch_all`.
        """
        only = EVERYTHING if everything else Parts(relations, types, functions, sequences, triggers, policies)
        whole = everything or schemas
        wanted = [(query, oids) for query, oids in _wanted(only, whole, grants and not everything)
                  if oids is None or oids]
        statements = [(_full(query), {"version_table": version_table}) if oids is None else
                      (query, {"version_table": version_table, "only": oid_array(oids)})
                      for query, oids in wanted]
        rows = fetch_all(conn, statements, read_only=True, prepared_with=prepared_with)
        self.apply(dict(zip([query for query, _ in wanted], rows, strict=True)), only, whole)

    @staticmethod
    def read_ahead(version_table: str, settings: Parts) -> list[tuple[str, dict]]:
        """The partial reads of the kinds `settings` names (a Parts of setting names, or
        None for a kind not read), for the oids the server holds in them: sent in the same
        text as what fills them, before the client knows what a step touched. `apply`
        takes their rows."""
        return [(query, {"version_table": version_table,
                         "only": prepared.Expression(f"current_setting('{setting}')")})
                for query, setting in _wanted(settings, False) if setting]

    def apply(self, fetched: dict[str, list[tuple]], parts: Parts, whole: bool) -> None:
        """The rows of the queries `read` or `read_ahead` sent (by query), for the objects
        in `parts`; `whole`: the schemas and extensions were read."""
        def rows(query: str) -> list[tuple]:
            return fetched.get(query, [])

        if whole:
            self.schemas = tuple(name for name, _ in rows(queries.SCHEMAS))
            self.extensions = tuple(name for (name,) in rows(queries.EXTENSIONS))
            self.schema_grants = tuple(grant for name, grants in rows(queries.SCHEMAS)
                                       for grant in self._grants(name, grants))
            self.default_privileges = tuple(self._same(DefaultPrivilege(*fact))
                                            for fact in rows(queries.DEFAULT_PRIVILEGES))
        self._forget(_PER_RELATION, parts.relations)
        for part in ("triggers", "policies", "sequences", "functions"):
            self._forget((part,), getattr(parts, part))
        self._forget(("enums", "domains"), parts.types)
        self._read_relations(rows, parts.relations)
        self._read_types(rows, parts.types)
        for oid, schema, name, arguments, definition, grants in rows(queries.FUNCTIONS):
            self.functions[oid] = (schema, name, arguments, self._same(definition),
                                   self._grants(f"{display_name(schema, name)}({arguments})", grants))
        if queries.PRIVILEGES in fetched:
            found: dict[int, list] = {}
            for oid, grants in rows(queries.PRIVILEGES):
                found.setdefault(oid, []).extend(grants)
            self._regrant(found)

    def forget(self, relations: set[int], types: set[int], functions: set[int]) -> None:
        """Objects dropped: what belonged to these relations (their triggers and policies,
        and the sequences among them), these types, these functions."""
        self._forget(("triggers", "policies", "sequences"), relations)
        self._forget(("enums", "domains"), types)
        self._forget(("functions",), functions)

    def _forget(self, parts: tuple[str, ...], oids: set[int] | None) -> None:
        for part in parts:
            mapping = getattr(self, part)
            if oids is None:
                mapping.clear()
            else:
                for oid in oids:
                    mapping.pop(oid, None)
        if "indexes" in parts:
            self.index_tables = {index: table for index, table in self.index_tables.items()
                                 if oids is not None and table not in oids}

    def _read_relations(self, rows, only: set[int] | None) -> None:
        granted: dict[int, tuple[str, list]] = {}  # a relation's own grants and its columns'
        for (oid, schema, name, kind, comment, key, parent_schema, parent, bound, view_def, security,
             grants) in rows(queries.RELATIONS):
            if security:
                self.row_security[oid] = security
            if grants:
                granted.setdefault(oid, (display_name(schema, name), []))[1].extend(grants)
            if kind in ("v", "m"):
                self.relations[oid] = (schema, name, self._same(View(kind == "m", view_def)))
                continue
            self.relations[oid] = (schema, name, Table(
                kind=_TABLE_KINDS[kind], comment=comment, partition_key=key,
                partition_of=display_name(parent_schema, parent) if parent else None, partition_bound=bound))
        for oid, schema, table, name, grants, *values in rows(queries.COLUMNS):
            self.columns.setdefault(oid, {})[name] = self._same(Column(*values))
            if grants:
                granted.setdefault(oid, (display_name(schema, table), []))[1].extend(grants)
        self.relation_grants.update((oid, self._grants(*found)) for oid, found in granted.items())
        for oid in (self.relations if only is None else only):
            # A table's columns live in it; the Table is shared by every later snapshot
            # until the table is touched again, and nothing changes a snapshot's parts.
            schema, name, relation = self.relations.get(oid, (None, None, None))
            if isinstance(relation, Table):
                relation.columns = self.columns.get(oid, {})
                relation = self._same(relation, (Table, *(getattr(relation, f) for f in _TABLE_FIELDS),
                                                 tuple(relation.columns.items())))
                self.relations[oid] = (schema, name, relation)
                self.columns[oid] = relation.columns
        grouped: dict[str, dict[int, list]] = {part: {} for part in ("constraints", "indexes", "triggers",
                                                                     "policies")}

        def add(part: str, oid: int, item) -> None:
            grouped[part].setdefault(oid, []).append(self._same(item))

        for oid, schema, table, name, kind, definition, columns in rows(queries.CONSTRAINTS):
            constraint = Constraint(display_name(schema, table), name, kind, definition, tuple(columns))
            add("constraints", oid, constraint)
        for oid, schema, table, index_oid, name, quoted, definition, columns in rows(queries.INDEXES):
            # The name is compared nowhere: indexes are matched by what they index.
            definition = definition.replace(f" {quoted} ON ", " ON ", 1)
            add("indexes", oid, Index(display_name(schema, table), name, definition, tuple(columns)))
            self.index_tables[index_oid] = oid
        for oid, schema, table, name, definition in rows(queries.TRIGGERS):
            add("triggers", oid, Trigger(display_name(schema, table), name, definition))
        for oid, schema, table, name, definition in rows(queries.POLICIES):
            add("policies", oid, Policy(display_name(schema, table), name, definition))
        for part, by_oid in grouped.items():
            getattr(self, part).update((oid, tuple(items)) for oid, items in by_oid.items())
        for oid, schema, name, grants, *values, own_schema, own_table, own_column in rows(queries.SEQUENCES):
            owner = f"{display_name(own_schema, own_table)}.{own_column}" if own_column else None
            self.sequences[oid] = (schema, name, self._same(Sequence(*values, owned_by=owner)),
                                   self._grants(display_name(schema, name), grants))

    def _grants(self, shown: str, grants: list[list[str]] | None) -> tuple[Privilege, ...]:
        """The grants on the object displayed as `shown` (or on its columns), from the
        text[][] its row carries (`queries._grants`; None: it has none), sorted."""
        return tuple(sorted(self._same(Privilege(kind, f"{shown}.{column}" if column else shown, grantee,
                                                 privilege, grantable == "true", revoked == "true"))
                            for kind, column, grantee, privilege, grantable, revoked in grants or ()))

    def _regrant(self, found: dict[int, list[list[str]]]) -> None:
        """Every object's grants as `found` (oid -> its grants) has them; none where it has none."""
        def grants(oid: int, shown: str) -> tuple[Privilege, ...]:
            return self._grants(shown, found.get(oid, ()))

        self.relation_grants = {oid: grants(oid, display_name(schema, name))
                                for oid, (schema, name, _) in self.relations.items() if oid in found}
        self.sequences = {oid: (schema, name, seq, grants(oid, display_name(schema, name)))
                          for oid, (schema, name, seq, _) in self.sequences.items()}
        self.functions = {oid: (s, n, args, body, grants(oid, f"{display_name(s, n)}({args})"))
                          for oid, (s, n, args, body, _) in self.functions.items()}

    def _read_types(self, rows, only: set[int] | None) -> None:
        for oid, schema, name, labels in rows(queries.ENUMS):
            self.enums[oid] = (schema, name, self._same(tuple(labels)))
        for oid, schema, name, base, nullable, default, checks in rows(queries.DOMAINS):
            self.domains[oid] = (schema, name, self._same(Domain(base, nullable, default, tuple(checks))))

    # --- assembling -----------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        """The Snapshot these parts make, in the order the catalog queries sort by."""
        order = sorted(self.relations, key=lambda oid: self.relations[oid][:2])
        snap = Snapshot(schemas=self.schemas, extensions=self.extensions)
        for oid in order:
            schema, name, relation = self.relations[oid]
            if isinstance(relation, View):
                snap.views[display_name(schema, name)] = relation
                continue
            snap.tables[display_name(schema, name)] = relation
        snap.constraints = _flat(self.constraints, order)
        snap.indexes = _flat(self.indexes, order)
        snap.triggers = _flat(self.triggers, order)
        snap.policies = _flat(self.policies, order)
        snap.row_security = {display_name(*self.relations[oid][:2]): self.row_security[oid]
                             for oid in order if oid in self.row_security}
        for schema, name, sequence, _ in sorted(self.sequences.values(), key=lambda item: item[:2]):
            snap.sequences[display_name(schema, name)] = sequence
        for schema, name, labels in sorted(self.enums.values(), key=lambda item: item[:2]):
            snap.enums[display_name(schema, name)] = labels
        for schema, name, domain in sorted(self.domains.values(), key=lambda item: item[:2]):
            snap.domains[display_name(schema, name)] = domain
        for schema, name, arguments, body, _ in sorted(self.functions.values(), key=lambda item: item[:3]):
            snap.functions[f"{display_name(schema, name)}({arguments})"] = body
        # Each object's grants come sorted; the objects in the order of their first grant
        # (no two share it: it names the object), whatever their oids.
        granted = [*self.relation_grants.values(),
                   *(entry[-1] for entries in (self.sequences, self.functions) for entry in entries.values())]
        by_object = sorted((grants for grants in granted if grants), key=lambda grants: grants[0])
        snap.privileges = (*(grant for grants in by_object for grant in grants), *self.schema_grants)
        snap.default_privileges = self.default_privileges
        return snap


@dataclass(frozen=True)
class Parts:
    """What a partial read re-reads, by kind: sets of oids (or whatever names them)."""

    relations: object
    types: object
    functions: object
    sequences: object
    triggers: object
    policies: object


EVERYTHING = Parts(None, None, None, None, None, None)  # every object of every kind


def _wanted(parts: Parts, whole: bool, grants: bool = False) -> list[tuple[str, object]]:
    """Each query a read sends, with what it reads (None: everything); `grants`: every
    object's grants too."""
    wanted = [(query, parts.relations) for query in _RELATION_QUERIES]
    wanted += [(queries.TRIGGERS, parts.triggers), (queries.POLICIES, parts.policies),
               (queries.SEQUENCES, parts.sequences)]
    wanted += [(queries.ENUMS, parts.types), (queries.DOMAINS, parts.types),
               (queries.FUNCTIONS, parts.functions)]
    if whole:
        wanted += [(query, None) for query in _WHOLE_QUERIES]
    if grants:
        wanted.append((queries.PRIVILEGES, None))
    return wanted


def oid_array(oids) -> str:
    return "{" + ",".join(str(oid) for oid in sorted(oids)) + "}"


def fetch_all(conn, statements: list[tuple[str, dict]], read_only: bool = False,
              prepared_with: tuple[str, ...] = ()) -> list[list[tuple]]:
    """Every statement's rows, sent in one round trip where the connection can pipeline.

    `read_only` runs them with search_path pinned (the catalog functions qualify names
    not on it) and the settings below, which are put back afterwards; nothing is written.
    A step's snapshot is mostly waiting for the server, so round trips are what count.
    `prepared_with`, the statements the DDL log's function was installed with
    (`tracking.install`), runs them, where the connection pipelines, as statements
    prepared on it (`checks.schema.prepared`), all in one text: for a caller that sends
    them again and again on the suite's own databases (a call of that function prepares
    what the session lacks; statements it was not made with are prepared by a block that
    carries their text). Without it, a one-off read of someone's database leaves its
    session as it found it.
    """
    batch = getattr(conn, "fetch_batch", None)  # the migration's connection in the project's process
    if batch is not None:
        # One round trip to that process; the statements as EXECUTEs of what the session has
        # prepared, where it can: planning the catalog queries again at every step is most
        # of a step's snapshot there.
        settings = [_PIN] if read_only else []
        if prepared_with:
            settings.append(prepared.ensure([query for query, _ in statements], tracking.PREPARE_FUNCTION,
                                            prepared_with))
            statements = [(prepared.execute(query, params), None) for query, params in statements]
        return batch(statements, settings)
    in_transaction = _in_transaction(conn)
    if not sent_together(conn, read_only):
        with conn.transaction(force_rollback=True) if read_only else contextlib.nullcontext():
            if read_only:
                conn.execute(_PIN)
            return [conn.execute(query, params).fetchall() for query, params in statements]
    # Plain statements rather than conn.transaction(), whose every step waits for the server.
    # Nothing here is a ROLLBACK, after which psycopg may deallocate every prepared statement:
    # inside the caller's transaction the settings are saved and put back by hand,
    # outside one a read-only transaction ends them.
    begin, end = ([_SAVE], [_RESTORE]) if in_transaction else (["BEGIN READ ONLY"], ["COMMIT"])
    begin, end = ([*begin, _PIN], end) if read_only else ([], [])
    if prepared_with:
        # After the settings: a statement is planned for the search_path it was prepared under.
        texts = [query for query, _ in statements]
        begin.append(prepared.ensure(texts, tracking.PREPARE_FUNCTION, prepared_with))
        executes = [prepared.execute(query, params).encode() for query, params in statements]
        return _in_one_text(conn, begin, executes, end)
    # psycopg's prepare=False throughout: were it to prepare any of these, its next DEALLOCATE ALL
    # (on a DROP or ALTER the migration sends) would take this module's statements with it.
    with conn.pipeline():
        for statement in begin:
            conn.execute(statement, prepare=False)
        cursors = [conn.execute(query, params, prepare=False) for query, params in statements]
        for statement in end:
            conn.execute(statement, prepare=False)
    return [cursor.fetchall() for cursor in cursors]


def _in_transaction(conn) -> bool:
    return (isinstance(conn, psycopg.Connection)
            and conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS)


def sent_together(conn, read_only: bool = True) -> bool:
    """Whether `fetch_all` sends its statements through `conn` in one go (and, asked to
    prepare them, as one text of EXECUTEs), rather than one at a time."""
    if hasattr(conn, "fetch_batch"):
        return True  # one request to the project's process, whatever it holds
    if not isinstance(conn, psycopg.Connection) or not psycopg.Pipeline.is_supported():
        return False
    return not read_only or _in_transaction(conn) or conn.autocommit


def _in_one_text(conn, begin: list[str], statements: list[bytes], end: list[str]) -> list[list[tuple]]:
    """The rows of `statements`, all of them sent as one text, between `begin` and `end`.

    One simple query, answered in one go: a step's snapshot is a dozen statements, and
    pipelining them cost psycopg more work per statement, and the run more waiting, than
    the statements themselves (1.9 ms of CPU and 5 ms of wall time per partial read, 1.3 and
    3.9 this way). The EXECUTEs carry their values as literals, so nothing is bound.
    """
    texts = [*(text.encode() for text in begin), *statements, *(text.encode() for text in end)]
    cursor = conn.cursor()
    cursor.execute(b";\n".join(texts), prepare=False)
    for _ in begin:  # their results are nothing to keep
        cursor.nextset()
    rows = []
    for _ in statements:
        rows.append(cursor.fetchall())
        cursor.nextset()
    return rows


# Names not on search_path come back qualified, so pin it. The catalog queries join many
# catalogs; planning them costs more than running them on a few objects, and the order
# they are written in is a good one, so the planner is told to keep it. A generic plan
# is made once per prepared statement and serves any set of oids (PostgreSQL remakes it
# by itself when a catalog it reads changes shape); not knowing how many oids it will
# get, it would rather scan all of pg_class than look a few up, unless told that pages
# of the catalogs, which are in memory, cost little to reach out of order.
_SETTINGS = {"search_path": "public", "join_collapse_limit": "1", "from_collapse_limit": "1",
             "plan_cache_mode": "force_generic_plan", "random_page_cost": "1.1"}


def _set_all(values: dict[str, str]) -> str:
    return "SELECT " + ", ".join(f"set_config('{name}', {value}, true)" for name, value in values.items())


_PIN = _set_all({name: f"'{value}'" for name, value in _SETTINGS.items()})
_SAVE = _set_all({f"alembic_preflight.{name}": f"current_setting('{name}')" for name in _SETTINGS})
_RESTORE = _set_all({name: f"current_setting('alembic_preflight.{name}')" for name in _SETTINGS})


@functools.cache
def partial_reads() -> tuple[str, ...]:
    """Every text `read` sends when it is not reading everything: what to prepare ahead."""
    # Every grant is read again after a GRANT or REVOKE: the DDL log cannot say on what.
    return (*_PARTIAL_QUERIES, *(_full(query) for query in _WHOLE_QUERIES), queries.PRIVILEGES)


def _full(query: str) -> str:
    return queries.everything(query)


def _flat(parts: dict[int, tuple], order: list[int]) -> tuple:
    return tuple(item for oid in order for item in parts.get(oid, ()))
