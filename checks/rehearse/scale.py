"""The sizes a rehearsal fills its tables to: the production volumes scaled down by one factor
for every table (so that their proportions stay), small enough for the disk budget and for
the time a run can spend inserting, and a second size a quarter of that to fit a line
through.

A row's size on disk is estimated from the catalog alone, before any row exists: its
header and line pointer, each column's fixed width (a variable-length one counted as the
generated values' few bytes, rounded up), an entry per index, and slack for page fill. The
rows are on disk three times at most: as filled, in the copy the revision runs on, and in
the new copy a rewrite makes of that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import psycopg

LARGEST_ROWS = 200_000  # rows inserted at the larger size, all tables together
SMALLER = 4  # the smaller size is the larger one divided by this
_ROW_OVERHEAD = 28  # tuple header and line pointer
_VARIABLE = 24  # a variable-length column's generated value ('seed 123456', '{}'), with its header
_INDEX_ENTRY = 32  # an index entry's header, key and pointer, rounded up
_SLACK = 1.25  # pages are not filled to the last byte
# The filled database, the copy the revision runs on, and the copy a rewrite makes of it
# (the old one is kept until the transaction ends).
_COPIES = 3

_WIDTH = """
SELECT n.nspname || '.' || c.relname,
       (SELECT coalesce(sum(CASE WHEN t.typlen > 0 THEN t.typlen ELSE {variable} END), 0)
        FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = %s::regclass
"""


def row_bytes(conn: psycopg.Connection, table: str) -> tuple[str, int]:
    """`table` (quoted, schema-qualified) as the measurement names it ("schema.table"), and
    what one generated row of it takes on disk, rounded up."""
    name, width, indexes = conn.execute(_WIDTH.format(variable=_VARIABLE), (table,)).fetchone()
    return name, int((_ROW_OVERHEAD + int(width) + indexes * _INDEX_ENTRY) * _SLACK) + 1


@dataclass
class Sizes:
    """Rows per table at the larger and the smaller size, and what limited them."""

    factor: float  # the larger size's share of the production volume
    larger: dict[str, int] = field(default_factory=dict)
    smaller: dict[str, int] = field(default_factory=dict)
    limited_by: str = "volume"  # "volume" (nothing to scale), "rows" or "disk"
    disk_bytes: int = 0  # the larger size's estimated peak on disk

    def describe(self) -> str:
        if self.limited_by == "volume":
            return "the declared volumes themselves"
        why = {"rows": f"at most {LARGEST_ROWS:,} rows inserted per rehearsal",
               "disk": "the rehearse_disk budget"}[self.limited_by]
        return f"{self.factor:.3g} of the declared volumes ({why})"


def choose(volumes: dict[str, int], widths: dict[str, int], disk_bytes: int,
           largest_rows: int = LARGEST_ROWS) -> Sizes:
    """`volumes`: production rows per table; `widths`: row_bytes per table."""
    total_rows = sum(volumes.values())
    peak = sum(rows * widths[table] for table, rows in volumes.items()) * _COPIES
    factor, limited_by = 1.0, "volume"
    if total_rows > largest_rows:
        factor, limited_by = largest_rows / total_rows, "rows"
    if peak * factor > disk_bytes:
        factor, limited_by = disk_bytes / peak, "disk"
    # Never more than the bytes allowed: rounding a table's rows up to one row could pass it.
    larger = {table: int(rows * factor) for table, rows in volumes.items()}
    smaller = {table: int(rows * factor / SMALLER) for table, rows in volumes.items()}
    used = sum(rows * widths[table] for table, rows in larger.items()) * _COPIES
    return Sizes(factor, larger, smaller, limited_by, used)
