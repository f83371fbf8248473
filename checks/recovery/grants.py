"""A privilege the role lacks, read from PostgreSQL's words, as the GRANT that gives it."""

from __future__ import annotations

import re

_DENIED = re.compile(r"permission denied for (table|schema|sequence) (\S+)")


def missing_grant(error: str, role: str, writes: bool) -> tuple[str, str, str] | None:
    """(kind, name, the GRANT statement) for a "permission denied" in `error`; None otherwise.
    `writes`: the task changes the object (else it only reads it)."""
    denied = _DENIED.search(error)
    if denied is None:
        return None
    kind, name = denied.groups()
    if kind == "schema":
        grant = f"GRANT USAGE, CREATE ON SCHEMA {name}"
    else:
        privileges = "SELECT, INSERT, UPDATE, DELETE" if writes else "SELECT"
        grant = f"GRANT {privileges} ON {'SEQUENCE ' if kind == 'sequence' else ''}{name}"
    return kind, name, f"{grant} TO {role}"
