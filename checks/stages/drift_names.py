"""Names longer than PostgreSQL keeps: compared as PostgreSQL stores them, and named once.

PostgreSQL keeps the first 63 bytes of an identifier (NAMEDATALEN - 1), never splitting a
character, and truncates the same way wherever the name appears, so an application using
the long name works. A migration creating such a table or column leaves the truncated name
in the catalog; the models keep the long one. Compared naively, autogenerate sees a table
or column added and another removed, and SQLAlchemy's create_all refuses a table name over
63 characters (counting characters, not bytes), so the drift stage would report a false
difference or none at all. Here long names are compared truncated, and each is reported
once as a warning with the name the database has.
"""

from __future__ import annotations

from checks.result import Finding, Severity
from projectside.autogenerate import MAX_BYTES, pg_truncate


def long_name_findings(names: list[tuple[str, str]], revision: str | None) -> list[Finding]:
    """One warning per (what, name) of the models' `long_names`."""
    return [Finding(
        Severity.WARNING, "identifier-truncated",
        f"{what} is {len(name.encode('utf-8'))} bytes; PostgreSQL keeps only the first {MAX_BYTES}, "
        f"so the database calls it {pg_truncate(name)!r} (drift compares it so)", revision=revision,
        object=what, hint=f"name it {pg_truncate(name)!r} in the models: that is what the database "
                          "already has, so no migration is needed, and create_all accepts it")
        for what, name in names]
