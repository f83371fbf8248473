"""The schema the models describe, built by `metadata.create_all` in a database of its own.

Models can ask for what a bare database lacks: an index with an extension's operator
class, a column of an extension's type. When create_all fails, the drift stage cannot
compare anything, so it says which object failed, what PostgreSQL said, and which
extension (if any) the `extensions` setting should create first.
"""

from __future__ import annotations

import io
import re

from checks.errors import StageError
from checks.project.environment import url_string
from checks.project.models import ModelsUnbuildable, models_of
from checks.project.project import Database, StepState
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
    `models` is the project's (`checks.project.models.models_of`). The one built ahead, while
    the history was built, where the extensions head has were there too."""
    ahead = run.models_ahead
    run.models_ahead = None
    if ahead is not None and set(head.extensions) <= set(ahead.extensions):
        run.summaries["drift"] = "the models' schema built by a worker process beside the history's build"
        return ahead
    db = run.database("models")
    try:
        return _built(run, models, db, head.extensions)
    except ModelsUnbuildable as exc:
        raise _unbuildable(run, exc) from None


def _built(run: Run, models, db, extensions) -> Snapshot:
    url = url_string(run.server.endpoint.url(db.name, run.project.drivers.shared))
    # Models may use types from extensions the migrations install (citext, uuid-ossp).
    models.build(url, extensions)
    with run.server.connect(db.name) as conn:
        return run.snapshot(conn)


def models_ahead(run: Run) -> Snapshot | None:
    """The models' schema, built in a worker while this process builds the history: with
    the extensions every database of the run gets (those the migrations add are not known
    yet; where head has any, the drift stage builds it again). None where it cannot be
    built: the drift stage builds it in its turn and says why."""
    try:
        if not run.project.has_metadata():
            _configure_offline(run.project, Database(run.server.endpoint, f"{run.work_name}_offline"))
    except Exception:  # noqa: BLE001 - env.py has no offline mode: the models wait for the build's run
        return None
    db = run.database("models")
    try:
        return _built(run, models_of(run.project), db, ())
    except Exception:  # noqa: BLE001 - said again, in its words, where drift builds them
        return None
    finally:
        run.server.drop_database(db.name)  # this process's: the run's end does not see it


def _configure_offline(project, nowhere: Database) -> None:
    """What env.py passes to context.configure (its target_metadata), from a run of it in
    offline mode with no revision to apply: what it writes is dropped. Its URL names a
    database that does not exist: an env.py that connects whatever the mode fails at once,
    instead of joining a database the build is using."""
    with project.env.active(nowhere.endpoint, nowhere.name):
        project.drive_steps(project.config(nowhere), [], True, StepState(), as_sql=True,
                            output_buffer=io.StringIO())


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
