"""The schema the models describe, built by `metadata.create_all` in a database of its own.

Models can ask for what a bare database lacks: an index with an extension's operator
class, a column of an extension's type. When create_all fails, the drift stage cannot
compare anything, so it says which object failed, what PostgreSQL said, and which
extension (if any) the `extensions` setting should create first.
"""

from __future__ import annotations

import re

from checks.errors import StageError
from checks.project.environment import url_string
from checks.project.models import ModelsUnbuildable
from checks.run import Run
from checks.schema import Snapshot

# What PostgreSQL says when an object needs an extension, and the extension that provides it.
_EXTENSION_CLUES = (
    (r'operator class "g(?:in|ist)_trgm_ops"|function (?:similarity|word_similarity)\(', "pg_trgm"),
    (r'operator class "gist_\w+_ops"', "btree_gist"),
    (r'operator class "gin_\w+_ops"', "btree_gin"),
    (r'type "citext"', "citext"),
    (r'type "hstore"', "hstore"),
    (r'type "(?:geometry|geography|box2d|box3d)"|function st_\w+\(', "postgis"),
    (r'type "ltree"', "ltree"),
    (r'type "vector"', "vector"),
    (r'type "cube"', "cube"),
    (r'function uuid_generate_v\d', "uuid-ossp"),
    (r'function (?:gen_random_bytes|crypt|gen_salt|digest)\(', "pgcrypto"),
    (r'function unaccent\(', "unaccent"),
)
_STATEMENT_OBJECT = re.compile(
    r"^\s*(?:CREATE|ALTER)\s+(?:UNIQUE\s+)?(TABLE|INDEX|TYPE|SEQUENCE|SCHEMA|VIEW|DOMAIN)\s+"
    r"(?:IF\s+NOT\s+EXISTS\s+)?(?:CONCURRENTLY\s+)?([^\s(]+)", re.IGNORECASE)
_ADD_CONSTRAINT = re.compile(r"ADD\s+CONSTRAINT\s+([^\s(]+)", re.IGNORECASE)


def models_snapshot(run: Run, models, head: Snapshot) -> Snapshot:
    """Build the models' schema with create_all in a database of its own and read it;
    `models` is the project's (`checks.project.models.models_of`)."""
    db = run.database("models")
    url = url_string(run.server.endpoint.url(db.name, run.project.drivers.shared))
    try:
        # Models may use types from extensions the migrations install (citext, uuid-ossp).
        models.build(url, head.extensions)
    except ModelsUnbuildable as exc:
        raise _unbuildable(run, exc) from None
    with run.server.connect(db.name) as conn:
        return run.snapshot(conn)


def _unbuildable(run: Run, exc: ModelsUnbuildable) -> StageError:
    database_says = exc.database_says
    obj = statement_object(exc.statement)
    where = f"{obj}: " if obj else ""
    extension = needed_extension(database_says)
    if extension:
        hint = (f"the models need the extension {extension}: add extensions = [\"{extension}\"] to the "
                f"suite's settings ({run.project.settings.home()}) so every database gets it first, "
                f"and create it in a migration (op.execute('CREATE EXTENSION IF NOT EXISTS "
                f"\"{extension}\"')) so a fresh server does too")
    else:
        hint = ("the models cannot be created on an empty database as declared; fix the object named "
                "(run metadata.create_all against a scratch database to see it)")
    return StageError("models-unbuildable",
                      f"metadata.create_all fails on an empty database: {where}{database_says}",
                      object=obj or None, hint=hint)


def needed_extension(message: str) -> str | None:
    for pattern, extension in _EXTENSION_CLUES:
        if re.search(pattern, message, re.IGNORECASE):
            return extension
    return None


def statement_object(statement: str) -> str:
    """'index ix_items_name' for the DDL statement that failed; '' when it cannot be told."""
    found = _STATEMENT_OBJECT.search(statement)
    if not found:
        return ""
    kind, name = found.group(1).lower(), found.group(2).strip('"')
    constraint = _ADD_CONSTRAINT.search(statement)
    if kind == "table" and constraint and statement.lstrip().upper().startswith("ALTER"):
        return f"constraint {constraint.group(1).strip(chr(34))} on table {name}"
    return f"{kind} {name}"
