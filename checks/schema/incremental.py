"""Snapshots of one database that re-read only what the DDL since the last one touched.

The DDL log (`checks.schema.tracking`) names the objects each command created, altered
or dropped. A touched object is re-read with everything whose rendering could change
with it: a table's columns, constraints, indexes, triggers and policies; the tables whose
foreign keys, defaults or triggers refer to it; the views over it; the columns of a
touched type; a partitioned table's partitions; the grants on each. GRANT, REVOKE, ALTER
DEFAULT PRIVILEGES and DROP OWNED leave no object in the log: after one, every grant is
read again. Commands the log cannot place (an extension, a schema renamed, an object kind
the snapshot does not map) make that one snapshot a full read.
`ALEMBIC_PREFLIGHT_SNAPSHOT_CHECK=1` compares every incremental snapshot with a full one
and fails loudly on any difference.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from checks.schema import tracking
from checks.schema.catalog import Catalog, Parts, fetch_all, partial_reads, sent_together
from checks.schema.diff import diff_snapshots
from checks.schema.snapshot import Snapshot, View, display_name

CHECK_ENV = "ALEMBIC_PREFLIGHT_SNAPSHOT_CHECK"
OFF_ENV = "ALEMBIC_PREFLIGHT_FULL_SNAPSHOTS"  # =1: every snapshot a full one, no event triggers

# Commands that change grants without naming their objects to the log; a DROP's objects
# (DROP OWNED's too) come through sql_drop.
_PRIVILEGE_TAGS = {"GRANT", "REVOKE", "ALTER DEFAULT PRIVILEGES", "DROP OWNED"}
# Commands whose effects reach beyond the objects they report.
_FULL_TAGS = {"CREATE EXTENSION", "ALTER EXTENSION", "DROP EXTENSION", "ALTER SCHEMA",
              "IMPORT FOREIGN SCHEMA"}
# Dropped objects whose table the log names (schema, table, ...).
_ON_TABLE = {"table constraint", "trigger", "policy", "rule", "default value", "table column"}
_RELATION_TYPES = {"table", "view", "materialized view", "foreign table", "sequence", "index"}
_TYPE_TYPES = {"type", "domain"}
_FUNCTION_TYPES = {"function", "procedure"}
# Dropped along with an object above, or not part of a snapshot.
_DROP_IGNORED = {"toast table", "domain constraint", "composite type"}

# Each touched object, and each object depending on one, mapped to what the snapshot
# re-reads for it: a relation, a type or a function; a sequence, or a table whose triggers
# or policies changed, is also named as such. An index stands for its table, and a
# type for its array type too (columns declared as `mood[]` depend on the array type).
# The bound on id is never reached: it makes the one (generic) plan of this prepared
# query expect a few new rows of the log, as a range, rather than a third of it, which
# would have it read all of pg_depend instead of looking the few up.
_PLACE = f"""
WITH touched AS (
    SELECT DISTINCT classid, objid FROM {tracking.SCHEMA}.touched
    WHERE id > %(since)s AND id <= %(since)s + 1000000000 AND NOT dropped AND classid IS NOT NULL
), expanded AS (
    SELECT classid, objid FROM touched
    UNION SELECT 'pg_class'::regclass, i.indrelid FROM touched
          JOIN pg_index i ON touched.classid = 'pg_class'::regclass AND i.indexrelid = touched.objid
    UNION SELECT 'pg_type'::regclass, t.typarray FROM touched
          JOIN pg_type t ON touched.classid = 'pg_type'::regclass AND t.oid = touched.objid
          WHERE t.typarray <> 0
), objects AS (
    SELECT classid, objid FROM expanded
    UNION SELECT d.classid, d.objid FROM pg_depend d
          JOIN expanded e ON d.refclassid = e.classid AND d.refobjid = e.objid
)
SELECT 'relation', coalesce(i.indrelid, o.objid) FROM objects o
    LEFT JOIN pg_index i ON i.indexrelid = o.objid WHERE o.classid = 'pg_class'::regclass
UNION SELECT 'sequence', c.oid FROM objects o JOIN pg_class c ON c.oid = o.objid AND c.relkind = 'S'
    WHERE o.classid = 'pg_class'::regclass
UNION SELECT 'relation', c.conrelid FROM objects o JOIN pg_constraint c ON c.oid = o.objid
    WHERE o.classid = 'pg_constraint'::regclass AND c.conrelid <> 0
UNION SELECT 'type', c.contypid FROM objects o JOIN pg_constraint c ON c.oid = o.objid
    WHERE o.classid = 'pg_constraint'::regclass AND c.contypid <> 0
UNION SELECT kind, t.tgrelid FROM objects o JOIN pg_trigger t ON t.oid = o.objid
    CROSS JOIN (VALUES ('relation'), ('trigger')) k(kind) WHERE o.classid = 'pg_trigger'::regclass
UNION SELECT kind, p.polrelid FROM objects o JOIN pg_policy p ON p.oid = o.objid
    CROSS JOIN (VALUES ('relation'), ('policy')) k(kind) WHERE o.classid = 'pg_policy'::regclass
UNION SELECT 'relation', a.adrelid FROM objects o JOIN pg_attrdef a ON a.oid = o.objid
    WHERE o.classid = 'pg_attrdef'::regclass
UNION SELECT 'relation', r.ev_class FROM objects o JOIN pg_rewrite r ON r.oid = o.objid
    WHERE o.classid = 'pg_rewrite'::regclass
UNION SELECT 'type', t.oid FROM objects o JOIN pg_type t ON t.oid = o.objid AND t.typtype IN ('e', 'd')
    WHERE o.classid = 'pg_type'::regclass
UNION SELECT 'function', o.objid FROM objects o WHERE o.classid = 'pg_proc'::regclass
"""

# What a step's snapshot re-reads, worked out where the log is: `_PLACE`'s objects, and
# what the client adds from the log's dropped objects and the catalog it keeps (see
# `_touched`) where the server can tell it too: a dropped relation, the table of a
# dropped column, constraint, trigger or policy, the triggers and policies of a touched
# table, the partitions of one. (What a dropped relation, type or function had, the
# client forgets without reading.) Each kind's oids are kept in a setting of the
# transaction, for the reads sent in the same text (`Catalog.read_ahead`), and returned.
_KINDS = ("relation", "type", "function", "sequence", "trigger", "policy")  # as Parts has them
_SETTING = "alembic_preflight.only_{}"
_DROPPED = f"""
    SELECT d.objid, d.object_type, d.names FROM {tracking.SCHEMA}.touched d
    WHERE d.id > %(since)s AND d.id <= %(since)s + 1000000000 AND d.dropped
"""
_KEEP = f"""
WITH placed(kind, oid) AS ({_PLACE}
), dropped AS ({_DROPPED}
), owners AS (
    SELECT object_type, to_regclass(quote_ident(names[1]) || '.' || quote_ident(names[2]))::oid AS oid
    FROM dropped WHERE object_type IN ({", ".join(f"'{t}'" for t in sorted(_ON_TABLE))})
      AND array_length(names, 1) >= 2
), kept AS (
    SELECT kind, oid FROM placed
    UNION SELECT k.kind, d.objid FROM dropped d
          CROSS JOIN (VALUES ('relation'), ('sequence')) k(kind)
          WHERE d.object_type IN ({", ".join(f"'{t}'" for t in sorted(_RELATION_TYPES - {"index"}))})
    UNION SELECT 'relation', oid FROM owners WHERE oid IS NOT NULL
    UNION SELECT 'policy', oid FROM owners WHERE oid IS NOT NULL AND object_type = 'policy'
), relations AS (
    SELECT oid FROM kept WHERE kind = 'relation'
    UNION SELECT i.inhrelid FROM kept JOIN pg_inherits i ON i.inhparent = kept.oid WHERE kind = 'relation'
), everything AS (
    SELECT kind, oid FROM kept WHERE kind <> 'relation'
    UNION SELECT 'relation', oid FROM relations
    UNION SELECT 'trigger', r.oid FROM relations r
          WHERE EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = r.oid AND NOT t.tgisinternal)
    UNION SELECT 'policy', r.oid FROM relations r
          WHERE EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = r.oid)
)
SELECT k.kind, set_config('{_SETTING.format("")}' || k.kind,
                          coalesce(array_agg(e.oid ORDER BY e.oid) FILTER (WHERE e.oid IS NOT NULL),
                                   '{{}}')::text, true)
FROM (VALUES {", ".join(f"('{kind}')" for kind in _KINDS)}) k(kind)
LEFT JOIN everything e ON e.kind = k.kind
GROUP BY k.kind
"""
# Read ahead: the kinds nearly every step touches. Each statement in the text costs the
# round trip time (a tenth of a millisecond, empty or not), and a step that touches a
# type, a function, a trigger or a policy reads them in a round trip of its own.
_AHEAD = ("relation", "sequence")
_READ_AHEAD = Parts(*(_SETTING.format(kind) if kind in _AHEAD else None for kind in _KINDS))

# The catalogs `_PLACE` maps; any other object a command reports makes a full read.
_KNOWN_CLASSES = """
SELECT relname::text, oid FROM pg_class WHERE relnamespace = 'pg_catalog'::regnamespace AND relname IN
    ('pg_class', 'pg_constraint', 'pg_trigger', 'pg_policy', 'pg_attrdef', 'pg_rewrite', 'pg_type', 'pg_proc',
     'pg_namespace')
"""


# What a step's snapshot sends, prepared on its session by the DDL log's own function.
PREPARED = (tracking.LOG_SINCE, _KEEP, *partial_reads())


def install(conn) -> bool:
    """Log DDL on the database behind `conn` (autocommit) for `IncrementalSnapshots` to read,
    and give it what they prepare their statements with; False when not allowed."""
    return tracking.install(conn, PREPARED)


class SnapshotMismatch(AssertionError):
    """An incremental snapshot differs from a full one: a bug in the suite, never the project's."""


@dataclass
class _Touched:
    full: bool = False
    schemas: bool = False
    relations: set[int] = field(default_factory=set)
    types: set[int] = field(default_factory=set)
    functions: set[int] = field(default_factory=set)
    sequences: set[int] = field(default_factory=set)
    triggers: set[int] = field(default_factory=set)  # tables whose triggers to re-read
    policies: set[int] = field(default_factory=set)
    dropped: set[int] = field(default_factory=set)  # relations gone: forgotten everywhere
    gone_types: set[int] = field(default_factory=set)  # types and functions dropped
    gone_functions: set[int] = field(default_factory=set)
    privileges: bool = False  # grants changed on objects the log does not name: read them all

    def within(self, read: Parts) -> bool:
        """Whether `read` covers everything a partial read of this would read (what a
        dropped relation had is forgotten without a read)."""
        # Field by field: dataclasses.astuple would deep-copy every set, at every step.
        return (not self.privileges and self.relations <= read.relations and self.types <= read.types
                and self.functions <= read.functions and self.sequences <= read.sequences
                and self.triggers <= read.triggers and self.policies <= read.policies)


class IncrementalSnapshots:
    """Snapshots of one tracked database, each re-reading what changed since the one before."""

    def __init__(self, version_table: str, catalog: Catalog | None = None, check: bool | None = None) -> None:
        self.version_table = version_table
        self.catalog = catalog
        self.since = 0  # the last log row already accounted for
        self.check = os.environ.get(CHECK_ENV) == "1" if check is None else check
        self.full_reads = 0
        self.partial_reads = 0
        self.read_ahead = 0  # partial reads whose rows came with the log's, in one round trip
        self._classes: dict[str, int] | None = None

    def for_clone(self) -> IncrementalSnapshots:
        """The same schema, for a clone of this database with a log of its own."""
        catalog = self.catalog.copy() if self.catalog else None
        return IncrementalSnapshots(self.version_table, catalog, self.check)

    def take(self, conn) -> Snapshot:
        since = {"since": self.since}
        # What the step touched, and, in the same text where the connection allows, the
        # reads of what the server found it touched: most steps need nothing more.
        ahead = Catalog.read_ahead(self.version_table, _READ_AHEAD) if (
            self.catalog is not None and sent_together(conn)) else []
        # Read-only, so all get the catalog reads' settings: _KEEP costs more to plan than to run.
        log, kept, *read = fetch_all(conn, [(tracking.LOG_SINCE, since), (_KEEP, since), *ahead],
                                     read_only=True, prepared_with=PREPARED)
        if log:
            self.since = log[-1][0]
        found = dict(kept)
        server = [{int(oid) for oid in found[kind].strip("{}").split(",") if oid} for kind in _KINDS]
        placed = [(kind, oid) for kind, oids in zip(_KINDS, server, strict=True) for oid in oids]
        # What the reads sent ahead covered: nothing of the kinds not read ahead.
        covered = Parts(*(oids if kind in _AHEAD else set()
                          for kind, oids in zip(_KINDS, server, strict=True)))
        touched = self._touched(conn, log, placed) if self.catalog is not None else _Touched(full=True)
        if touched.full:
            self.catalog = Catalog()
            # Not prepared: read once per database, and every statement the session holds
            # makes the look for missing ones (`prepared.ensure`) slower.
            self.catalog.read(conn, self.version_table, everything=True)
            self.full_reads += 1
        elif not (touched.relations or touched.types or touched.functions or touched.schemas
                  or touched.gone_types or touched.gone_functions or touched.privileges):
            pass  # data: nothing to read again
        elif ahead and not touched.schemas and touched.within(covered):
            fetched = dict(zip([query for query, _ in ahead], read, strict=True))
            self.catalog.apply(fetched, covered, whole=False)
            self.catalog.forget(touched.dropped, touched.gone_types, touched.gone_functions)
            self.partial_reads += 1
            self.read_ahead += 1
        else:
            # Schemas' grants and default privileges are read with the schemas.
            self.catalog.read(conn, self.version_table, schemas=touched.schemas or touched.privileges,
                              relations=touched.relations, types=touched.types | touched.gone_types,
                              functions=touched.functions | touched.gone_functions,
                              sequences=touched.sequences | touched.dropped,
                              triggers=touched.triggers | touched.dropped,
                              policies=touched.policies | touched.dropped, grants=touched.privileges,
                              prepared_with=PREPARED)
            self.partial_reads += 1
        snap = self.catalog.snapshot()
        if self.check:
            verify_against_full(conn, snap, self.version_table)
        return snap

    def _touched(self, conn, log: list[tuple], placed: list[tuple]) -> _Touched:
        touched = _Touched()
        classes = self._known_classes(conn)
        for _id, dropped, classid, objid, object_type, tag, names in log:
            touched.privileges |= tag in _PRIVILEGE_TAGS
            if tag in _FULL_TAGS:
                touched.full = True
            elif dropped:
                self._dropped(touched, object_type, objid, names or [])
            elif tag in _PRIVILEGE_TAGS or (classid is None and tag.startswith("DROP ")):
                continue
            elif classid not in classes.values():
                touched.full = True  # a kind of object (or a command) the snapshot cannot place
            elif classid == classes["pg_namespace"]:
                touched.schemas = True
            if touched.full:
                return touched
        into = {"relation": touched.relations, "type": touched.types, "function": touched.functions,
                "sequence": touched.sequences, "trigger": touched.triggers, "policy": touched.policies}
        for kind, oid in placed:
            into[kind].add(oid)
        for oid in list(touched.relations):
            # DETACH PARTITION leaves no dependency behind: the detached table was a partition
            # of this one before the step.
            touched.relations.update(self._partitions_of(oid))
        # A table's triggers and policies render its name and columns: re-read those it has.
        touched.triggers.update(oid for oid in touched.relations if oid in self.catalog.triggers)
        touched.policies.update(oid for oid in touched.relations if oid in self.catalog.policies)
        return touched

    def _dropped(self, touched: _Touched, object_type: str, objid: int, names: list[str]) -> None:
        catalog = self.catalog
        if object_type == "index":
            # An index backing a constraint is not in the catalog's map: its constraint's row
            # names the table.
            if objid in catalog.index_tables:
                touched.relations.add(catalog.index_tables[objid])
        elif object_type in _RELATION_TYPES:
            touched.relations.add(objid)
            touched.dropped.add(objid)
            touched.relations.update(self._partitions_of(objid))
        elif object_type in _ON_TABLE:
            owner = catalog.relation_oid(names[0], names[1]) if len(names) >= 2 else None
            if owner is not None:
                touched.relations.add(owner)
                if object_type == "policy":
                    touched.policies.add(owner)
                elif object_type == "trigger" and owner in catalog.triggers:
                    # Else the trigger was a foreign key's (internal, never in a snapshot)
                    # or made since the last snapshot, which names it as a touched one.
                    touched.triggers.add(owner)
        elif object_type in _TYPE_TYPES:
            touched.gone_types.add(objid)
        elif object_type in _FUNCTION_TYPES:
            touched.gone_functions.add(objid)
        elif object_type == "schema":
            touched.schemas = True
        elif object_type == "default acl":
            touched.privileges = True
        elif object_type not in _DROP_IGNORED:
            touched.full = True

    def _partitions_of(self, oid: int) -> list[int]:
        entry = self.catalog.relations.get(oid)
        if entry is None or isinstance(entry[2], View):
            return []
        name = display_name(entry[0], entry[1])
        return [child for child, (_, _, rel) in self.catalog.relations.items()
                if not isinstance(rel, View) and rel.partition_of == name]

    def _known_classes(self, conn) -> dict[str, int]:
        if self._classes is None:
            self._classes = dict(conn.execute(_KNOWN_CLASSES).fetchall())
        return self._classes


def verify_against_full(conn, snap: Snapshot, version_table: str) -> None:
    """Raise SnapshotMismatch unless `snap` equals a full snapshot read through `conn` now."""
    full = Catalog()
    full.read(conn, version_table, everything=True)
    expected = full.snapshot()
    if snap != expected:
        raise SnapshotMismatch(describe_mismatch(expected, snap))


def describe_mismatch(full: Snapshot, incremental: Snapshot) -> str:
    diffs = diff_snapshots(full, incremental, expected_label="the full snapshot",
                           actual_label="the incremental snapshot")
    listed = "; ".join(d.message for d in diffs[:5]) or "they differ in a way the diff does not name"
    return f"incremental snapshot differs from a full one: {listed}"
