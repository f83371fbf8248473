"""How many rows each table holds in production: declared in the settings (`volumes`), or read
from a real database's statistics into a file (`doctor --volumes-out`) and read back from it
(`volumes_file`, `--volumes`).

The file holds row counts only, as the planner's statistics estimate them (pg_class.reltuples,
kept up to date by VACUUM and ANALYZE): no row of any table is read.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from checks.errors import ConfigError, shown
from checks.textfile import read_text

EVERY_OTHER = "*"
DEFAULT_ROWS = 100_000  # a table neither the settings nor the file name
FORMAT = "alembic-preflight volumes 1"

# Every ordinary and partitioned table of the database but the catalogs', with the planner's
# estimate of its rows (-1: never vacuumed nor analyzed; a partitioned table's is its
# partitions' sum).
_RELTUPLES = """
SELECT n.nspname || '.' || c.relname,
       CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(greatest(p.reltuples, 0)), 0) FROM pg_inherits i
                                       JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = c.oid)
            ELSE c.reltuples END
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
ORDER BY 1
"""


@dataclass
class Volumes:
    """Rows per table ("schema.table"; a name without a schema is the public one's); `default`
    for every other table (None: DEFAULT_ROWS)."""

    rows: dict[str, int] = field(default_factory=dict)
    default: int | None = None
    source: str = f"none declared: {DEFAULT_ROWS:,} rows a table"

    def of(self, table: str) -> int:
        schema, _, name = table.rpartition(".")
        for key in (table, name if schema in ("", "public") else None):
            if key is not None and key in self.rows:
                return self.rows[key]
        return DEFAULT_ROWS if self.default is None else self.default

    def merged(self, over: Volumes) -> Volumes:
        """These, with `over`'s entries winning."""
        return Volumes({**self.rows, **over.rows}, self.default if over.default is None else over.default,
                       f"{over.source} over {self.source}")


def _normal(name: str) -> str:
    return name.removeprefix("public.")


def parse(value, where: str) -> Volumes:
    """The `volumes` setting: a table of table name -> rows, "*" for every other table."""
    example = 'e.g. volumes = { orders = 5_000_000, "*" = 100_000 }'
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: volumes must be a table of table names to row counts, {example}")
    rows, default = {}, None
    for name, count in value.items():
        if not name.strip():
            raise ConfigError(f"{where}: volumes: a table name is empty; {example}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"{where}: volumes: {shown(name)} must be a whole number of rows, 0 or more "
                              f"(no quotes), not {count!r}; {example}")
        if name == EVERY_OTHER:
            default = count
        else:
            rows[_normal(name)] = count
    return Volumes(rows, default, where)


def read(path: Path) -> Volumes:
    """A file `write` wrote."""
    if not path.is_file():
        raise ConfigError(f"volumes file not found: {path}; write one with `python -m checks doctor "
                          f"--volumes-out {path}` against the production database (or a replica)")
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not a volumes file ({exc}); write it with `doctor --volumes-out`") \
            from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("tables"), dict):
        raise ConfigError(f"{path}: not a volumes file (no \"format\": \"{FORMAT}\" and \"tables\"); write "
                          "it with `doctor --volumes-out`")
    return parse(data["tables"], str(path))


def reltuples(conn) -> dict[str, int]:
    """Rows per table as the planner's statistics of the database `conn` is on estimate them;
    a table never analyzed counts 0."""
    return {_normal(name): max(0, math.ceil(estimate))
            for name, estimate in conn.execute(_RELTUPLES).fetchall()}


def write(path: Path, counts: dict[str, int], where: str) -> None:
    """`counts` as a volumes file; `where` says which database they describe (no password)."""
    data = {"format": FORMAT, "source": f"pg_class.reltuples of {where}", "tables": counts}
    try:
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise ConfigError(f"cannot write the volumes file {path}: {exc.strerror}; choose a writable path") \
            from None
