"""Roles: they belong to the server, not to the database, so pg_dump leaves out the ones the
history created. The base makes every role its grants and owners name, if missing (never
dropped, as a role other databases use must not be), and owns its objects and grants
default privileges as whoever runs it, not as the role that happened to build the history
here."""

from __future__ import annotations

import re

_ACL = re.compile(r"^(GRANT|REVOKE|ALTER DEFAULT PRIVILEGES)\b|^ALTER\s.*\sOWNER TO\s",
                  re.IGNORECASE | re.DOTALL)
_IDENTIFIER = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
# The grantees: after the last TO (GRANT) or FROM (REVOKE), up to a trailing clause.
_GRANTEES = re.compile(rf"\b(?:TO|FROM)\s+({_IDENTIFIER}(?:\s*,\s*{_IDENTIFIER})*)"
                       r"(?:\s+WITH\s+GRANT\s+OPTION|\s+GRANTED\s+BY\s+.*|\s+CASCADE)?\s*$",
                       re.IGNORECASE | re.DOTALL)
_NOT_ROLES = {"public", "current_user", "session_user", "current_role"}


def _plain(identifier: str) -> str:
    """The role's name as pg_roles has it."""
    if identifier.startswith('"'):
        return identifier[1:-1].replace('""', '"')
    return identifier.lower()


def _quoted(name: str) -> str:
    return name if re.fullmatch(r"[a-z_][a-z0-9_$]*", name) else '"' + name.replace('"', '""') + '"'


def as_anyone(statements: list[str], builder: str) -> list[str]:
    """What pg_dump wrote as the builder, for whoever runs the base: its objects are that
    role's own without saying so, and so are the default privileges it set."""
    name = re.escape(_quoted(builder))
    owned = re.compile(rf"^ALTER\s.*\sOWNER TO {name}$", re.IGNORECASE | re.DOTALL)
    prefix = re.compile(rf"^ALTER DEFAULT PRIVILEGES FOR ROLE {name}\s+", re.IGNORECASE)
    return [prefix.sub("ALTER DEFAULT PRIVILEGES ", statement) for statement in statements
            if not owned.match(statement)]


def named_roles(statements: list[str], builder: str) -> list[str]:
    """The roles the grants and owners name, other than PUBLIC and the one that built the history."""
    names: list[str] = []
    for statement in statements:
        found = _GRANTEES.search(statement) if _ACL.match(statement) else None
        for identifier in re.findall(_IDENTIFIER, found.group(1)) if found else ():
            name = _plain(identifier)
            if name.lower() not in _NOT_ROLES and name != builder and name not in names:
                names.append(name)
    return names


def create_if_missing(name: str) -> str:
    literal = "'" + name.replace("'", "''") + "'"
    return ("DO $$ BEGIN\n"
            f"    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = {literal}) THEN\n"
            f"        CREATE ROLE {_quoted(name)} NOLOGIN;\n    END IF;\nEND $$")


_DEFAULT = re.compile(r"^(?P<head>ALTER DEFAULT PRIVILEGES(?:\s+IN SCHEMA\s+\S+)?)\s+"
                      r"(?P<verb>GRANT|REVOKE)\s+"
                      r"(?P<what>.+?)\s+ON\s+(?P<kind>TABLES|SEQUENCES|FUNCTIONS|ROUTINES|TYPES|SCHEMAS)\s+"
                      r"(?:TO|FROM)\s+(?P<whom>.+?)(?:\s+WITH GRANT OPTION)?$", re.IGNORECASE | re.DOTALL)


def undo_default_privileges(statements: list[str]) -> list[str]:
    """What takes back the default privileges `statements` set: they outlive every table
    they apply to, so dropping the schema's objects does not undo them."""
    undone = []
    for statement in statements:
        found = _DEFAULT.match(statement)
        if found is None:
            continue
        verb, preposition = ("REVOKE", "FROM") if found["verb"].upper() == "GRANT" else ("GRANT", "TO")
        undone.append(f"{found['head']} {verb} {found['what']} ON {found['kind'].upper()} {preposition} "
                      f"{found['whom']}")
    return undone
