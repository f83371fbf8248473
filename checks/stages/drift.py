"""drift: the schema the migrations build against the schema the models describe.

Two comparisons. Alembic's autogenerate (what `alembic check` runs), with the options
env.py gives it; and a full catalog comparison against a second database built by
`metadata.create_all`, which sees what autogenerate does not: server defaults, CHECK
constraints, enum labels, foreign-key actions, sequences, triggers, comments.
"""

from __future__ import annotations

from checks.parallel.beside import Aside
from checks.project.environment import url_string
from checks.project.models import models_of
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema import Snapshot, diff_snapshots
from checks.schema.compare_tables import constraint_object
from checks.schema.scope import narrow
from checks.stages.drift_blame import Blame
from checks.stages.drift_fixes import catalog_fix
from checks.stages.drift_models import models_snapshot
from checks.stages.drift_names import long_name_findings
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
    models_source = models_of(run.project)
    ignore = frozenset(run.project.settings.ignore)
    head = build.order[-1].revision if build.order else None
    if run.project.process is None:
        # Two halves that need nothing from each other: autogenerate reads the built database
        # (in a worker on the other core, when it is free) while this process builds the models'.
        with Aside(run, lambda: _autogenerate(run, build.database, models_source, ignore, head)) as compared:
            models = models_snapshot(run, models_source, build.head)
            findings, said = compared.result()
    else:
        # The models are in the project's process, which answers one request at a time.
        findings, said = _autogenerate(run, build.database, models_source, ignore, head)
        models = models_snapshot(run, models_source, build.head)
    findings += long_name_findings(models_source.long_names(), head)
    # Tables autogenerate found missing on one side: everything inside them is implied.
    whole_tables = {obj for obj, prop in said if prop == "exists" and "." not in obj}
    attached = _as_autogenerate_says(models, build.head)
    scope = drift_scope(models_source.filters(models, build.head, ignore), models, build.head)
    for diff in diff_snapshots(narrow(models, scope), narrow(build.head, scope), expected_label="models",
                               actual_label="migrations", ignore=ignore):
        implied = (_key(diff.object, diff.property) in said
                   or _key(diff.object, "exists") in said  # a removed-and-added object
                   or _table_of(diff.object) in whole_tables
                   or (diff.property == "exists" and not said.isdisjoint(attached.get(diff.object, ()))))
        if implied:
            continue  # autogenerate already said it, in Alembic's words
        fix = catalog_fix(diff, models, build.head, run.project.captured.options)
        findings.append(Finding(Severity.ERROR, "drift-catalog", diff.message, revision=head,
                                object=diff.object, hint=fix))
    Blame(build).assign(findings)
    return findings


def _autogenerate(run: Run, database: str, models, ignore: frozenset[str],
                  head: str | None) -> tuple[list[Finding], set]:
    url = url_string(run.server.endpoint.url(database, run.project.drivers.shared))
    findings, said = [], set()
    for message, obj, prop in models.compare(url, ignore):
        said.add(_key(obj, prop))
        findings.append(Finding(Severity.ERROR, "drift-autogenerate", message, revision=head,
                                object=obj, hint=FIX))
    # Alembic visits tables and columns in the order of sets, which changes from one process
    # to the next (PYTHONHASHSEED): sorted by table and object, every run lists the same.
    findings.sort(key=lambda f: (_table_of(f.object) or "", f.object or "", f.message))
    return findings, said


def _as_autogenerate_says(*snapshots: Snapshot) -> dict[str, set[tuple[str, str]]]:
    """Each constraint and index the catalog comparison names, and the keys autogenerate
    would give the same object: by its name, or by its columns where the models left it
    unnamed (PostgreSQL then names it, and the catalog sees that name)."""
    found: dict[str, set[tuple[str, str]]] = {}
    for snap in snapshots:
        for con in snap.constraints:
            word = "foreign key" if con.kind == "f" else "constraint"
            found.setdefault(constraint_object(con), set()).update(
                (f"{word} {con.table}.{label}", "exists") for label in (con.name, ", ".join(con.columns)))
        for index in snap.indexes:
            labels = (index.name, ", ".join(index.columns))
            found.setdefault(f"index {index.table}.{index.name}", set()).update(
                (f"index {index.table}.{label}", "exists") for label in labels)
    return found


def _key(obj: str, prop: str) -> tuple[str, str]:
    """What a difference is about, in a form both comparisons produce."""
    return obj.removeprefix("table "), prop


def _table_of(obj: str | None) -> str | None:
    if not obj:
        return None
    return obj.split(" ")[-1].rsplit(".", 1)[0]
