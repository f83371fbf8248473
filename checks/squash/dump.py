"""The schema of a database as the statements that build it and those that drop it, by pg_dump.

pg_dump knows every kind of object PostgreSQL has (functions, triggers, policies, grants,
extensions), in an order that builds: what it writes is the most faithful account of a
schema there is. Its session settings are left out (a base revision runs inside env.py's
transaction, where the revisions after it run too), and so is whatever an empty database
of the run already holds (the `extensions` setting, the bootstrap hook).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field

from pglast import split

from checks.errors import VerifyError
from checks.recovery.backup import endpoint_args, endpoint_environment
from harness.client_tools import client_tool
from harness.server import Server

# pg_dump's session settings: the revisions after the base run in the same session. The
# access method tables are created with is kept (a table's own, written no other way); the
# base resets it at its end. A tablespace is the server's, not the schema's.
_SETTING = re.compile(r"^(SET\s(?!default_table_access_method\b)|SELECT pg_catalog\.set_config\()",
                      re.IGNORECASE)
# An extension's comment is its control file's, set by CREATE EXTENSION, and only its owner
# may set it again (often a superuser, where the extension came with the server).
_EXTENSION_COMMENT = re.compile(r"^COMMENT ON EXTENSION\s", re.IGNORECASE)
# psql's commands, not SQL: pg_dump fences its script with them (\restrict KEY ... \unrestrict KEY).
_PSQL_COMMAND = re.compile(r"^\\(un)?restrict\b")
# pg_dump's header before each object; a comment inside a function's body stays.
_LEADING_COMMENTS = re.compile(r"\A(\s*--[^\n]*\n)*")


class DumpError(VerifyError):
    """pg_dump could not read the built schema."""


@dataclass
class Statements:
    """What builds the schema (in pg_dump's order), what drops it again (in reverse), and
    the roles its grants need (made first, if missing: see checks.squash.roles)."""

    create: list[str]
    drop: list[str]
    roles: list[str] = field(default_factory=list)
    # Rows the history left in its tables (seed data): the base builds the schema only.
    rows: dict[str, int] = field(default_factory=dict)

    def without(self, other: Statements) -> Statements:
        """These statements less the objects `other` (an empty database's) has too; settings
        stay, for what comes after them."""
        return Statements([s for s in self.create if s not in set(other.create) or s.startswith("SET ")],
                          [s for s in self.drop if s not in set(other.drop)])


def schema_statements(server: Server, database: str, version_table: str,
                      version_schema: str | None = None) -> Statements:
    """The schema of `database`, less the version table (and its row)."""
    excluded = f"{version_schema or 'public'}.{version_table}"
    create = _statements(_dump(server, database, excluded, clean=False))
    with_drops = _statements(_dump(server, database, excluded, clean=True))
    built = set(create)
    return Statements(create, _drops([s for s in with_drops if s not in built], create))


# What a table's drop takes with it: its constraints and indexes. Dropped one by one by name
# they fail where a partition's hangs off its parent's, or where a later revision's downgrade
# made a table again under other names (a foreign key on it then holds a primary key pg_dump
# drops first); CASCADE drops a foreign key onto the table whatever its name.
_DROP_TABLE = re.compile(r"^DROP TABLE IF EXISTS (\S+)$", re.IGNORECASE)
_DROP_INDEX = re.compile(r"^DROP INDEX IF EXISTS (\S+)$", re.IGNORECASE)
_DROP_CONSTRAINT = re.compile(r"^ALTER TABLE (?:IF EXISTS )?(?:ONLY )?(\S+) DROP CONSTRAINT IF EXISTS \S+$",
                              re.IGNORECASE)
_CREATE_INDEX = re.compile(r"^CREATE (?:UNIQUE )?INDEX (\S+) ON (?:ONLY )?((\S+)\.\S+) ", re.IGNORECASE)


def _drops(drops: list[str], create: list[str]) -> list[str]:
    tables = {match.group(1) for match in map(_DROP_TABLE.match, drops) if match}
    index_tables = {f"{match.group(3)}.{match.group(1)}": match.group(2)
                    for match in map(_CREATE_INDEX.match, create) if match}

    def owner(statement: str) -> str | None:
        if match := _DROP_CONSTRAINT.match(statement):
            return match.group(1)
        if match := _DROP_INDEX.match(statement):
            return index_tables.get(match.group(1))
        return None

    return [f"{statement} CASCADE" if _DROP_TABLE.match(statement) else statement
            for statement in drops if owner(statement) not in tables]


def _dump(server: Server, database: str, excluded: str, clean: bool) -> str:
    tool = client_tool("pg_dump", server.major)
    # Quoted so that a version table of upper-case or odd letters is the one left out.
    pattern = ".".join(f'"{part}"' for part in excluded.split(".", 1))
    # With owners: an object a revision gave to another role stays that role's (see
    # checks.squash.roles, which leaves out the ones that name the role building here).
    cmd = [tool.path, "--schema-only", f"--exclude-table={pattern}",
           *(["--clean", "--if-exists"] if clean else []), *endpoint_args(server.endpoint),
           "--dbname", database]
    proc = subprocess.run(cmd, env=endpoint_environment(server.endpoint), capture_output=True, text=True,
                          errors="replace")
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:]) or "no message"
        raise DumpError(f"pg_dump could not read the built schema of {database} (exit {proc.returncode}): "
                        f"{tail}")
    return proc.stdout


def _statements(script: str) -> list[str]:
    """pg_dump's script as statements: without its comments, psql's commands and its settings."""
    lines = [line for line in script.splitlines() if not _PSQL_COMMAND.match(line)]
    statements = [_LEADING_COMMENTS.sub("", s).strip() for s in split("\n".join(lines), with_parser=False)]
    return [s for s in statements if s and not _SETTING.match(s) and not _EXTENSION_COMMENT.match(s)]
