"""drift: the schema the migrations build against the schema the models describe.

Two comparisons. Alembic's autogenerate (what `alembic check` runs), with the options
env.py gives it; and a full catalog comparison against a second database built by
`metadata.create_all`, which sees what autogenerate does not: server defaults, CHECK
constraints, enum labels, foreign-key actions, sequences, triggers, comments.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from checks.parallel.beside import Aside
from checks.project.project import COMPARE_OPTIONS, Database
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema import diff_snapshots
from checks.schema.scope import narrow
from checks.stages.drift_blame import Blame
from checks.stages.drift_fixes import catalog_fix
from checks.stages.drift_format import describe_autogenerate_diff
from checks.stages.drift_models import models_snapshot
from checks.stages.drift_names import long_name_findings, without_truncation_pairs
from checks.stages.drift_reflection import every_schema_read_in_bulk
from checks.stages.drift_scope import drift_scope
from checks.stages.skips import skipped_for_build

FIX = "generate the missing migration: alembic revision --autogenerate -m '<what changed>', review it"


def check(run: Run) -> list[Finding]:
    """A model changed with no migration works on the laptop that ran create_all and
    breaks on every server built from the migrations."""
    build = run.build()
    if build.error is not None:
        return skipped_for_build(build)
    if not build.order and not run.project.has_metadata():
        return [Finding(Severity.INFO, "nothing-to-verify",
                        "no revisions and no models: nothing to compare yet")]
    metadatas = run.project.target_metadata()
    ignore = frozenset(run.project.settings.ignore)
    include = _include_filter(run, ignore)
    # Two halves that need nothing from each other: autogenerate reads the built database
    # (in a worker on the other core, when it is free) while this process builds the models'.
    with Aside(run, lambda: _autogenerate(run, build.database, metadatas, include)) as autogenerate:
        models = models_snapshot(run, metadatas, build.head)
        findings, said = autogenerate.result()
    findings += long_name_findings(metadatas, build.order[-1].revision if build.order else None)
    # Tables autogenerate found missing on one side: everything inside them is implied.
    whole_tables = {obj for obj, prop in said if prop == "exists" and "." not in obj}
    scope = drift_scope(run.project.captured.options, include, metadatas, models, build.head)
    for diff in diff_snapshots(narrow(models, scope), narrow(build.head, scope), expected_label="models",
                               actual_label="migrations", ignore=ignore):
        implied = (_key(diff.object, diff.property) in said
                   or _key(diff.object, "exists") in said  # a removed-and-added object
                   or _table_of(diff.object) in whole_tables)
        if implied:
            continue  # autogenerate already said it, in Alembic's words
        findings.append(Finding(Severity.ERROR, "drift-catalog", diff.message,
                                revision=build.order[-1].revision if build.order else None,
                                object=diff.object,
                                hint=catalog_fix(diff, models, build.head, run.project.captured.options)))
    Blame(build).assign(findings)
    return findings


def _include_filter(run: Run, ignore: frozenset[str]):
    theirs = run.project.captured.options.get("include_object")

    def include_object(obj, name, type_, reflected, compare_to):
        table = getattr(obj, "table", None)
        if type_ == "table" and (name in ignore or _qualified(obj) in ignore):
            return False
        if type_ == "column" and table is not None and f"{table.name}.{name}" in ignore:
            return False
        return theirs(obj, name, type_, reflected, compare_to) if theirs else True

    return include_object


def _qualified(table) -> str:
    schema = getattr(table, "schema", None)
    return f"{schema}.{table.name}" if schema else getattr(table, "name", "")


def _autogenerate(run: Run, database: str, metadatas: list, include) -> tuple[list[Finding], set]:
    opts = {k: v for k, v in run.project.captured.options.items() if k in COMPARE_OPTIONS}
    opts["include_object"] = include
    # Alembic before 1.12 compared no column types unless asked; `alembic check` does now.
    opts.setdefault("compare_type", True)
    opts["target_metadata"] = metadatas if len(metadatas) > 1 else metadatas[0]
    engine = create_engine(Database(run.server.endpoint, database).url, poolclass=NullPool)
    findings, said = [], set()
    try:
        with run.project.env.active(), engine.connect() as conn, every_schema_read_in_bulk():
            context = MigrationContext.configure(conn, opts=opts)
            diffs = without_truncation_pairs(compare_metadata(context, opts["target_metadata"]))
    finally:
        engine.dispose()
    order = run.build().order
    head = order[-1].revision if order else None
    for diff in diffs:
        for message, obj, prop in describe_autogenerate_diff(diff):
            said.add(_key(obj, prop))
            findings.append(Finding(Severity.ERROR, "drift-autogenerate", message, revision=head,
                                    object=obj, hint=FIX))
    # Alembic visits tables and columns in the order of sets, which changes from one process
    # to the next (PYTHONHASHSEED): sorted by table and object, every run lists the same.
    findings.sort(key=lambda f: (_table_of(f.object) or "", f.object or "", f.message))
    return findings, said


def _key(obj: str, prop: str) -> tuple[str, str]:
    """What a difference is about, in a form both comparisons produce."""
    return obj.removeprefix("table "), prop


def _table_of(obj: str | None) -> str | None:
    if not obj:
        return None
    return obj.split(" ")[-1].rsplit(".", 1)[0]
