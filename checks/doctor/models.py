"""The live schema against the models: what the code expects against what the database has.

The models' schema comes from the drift stage's create_all database, narrowed by the
same env.py filters (include_object, include_name, include_schemas) autogenerate honours,
so tables env.py deliberately leaves alone are not reported here either.
"""

from __future__ import annotations

from checks.errors import StageError
from checks.project.models import models_of
from checks.result import Finding, Severity
from checks.run import Run
from checks.schema import Snapshot, diff_snapshots
from checks.schema.scope import narrow
from checks.stages.drift_models import models_snapshot
from checks.stages.drift_scope import drift_scope


def models_findings(run: Run, live: Snapshot, ignore: frozenset[str],
                    base_for_extensions: Snapshot) -> list[Finding]:
    """Code deployed against a database missing a model's column fails at its first query;
    a table in no model is data nobody's code maintains (or a model nobody committed)."""
    project = run.project
    if not project.has_metadata():
        return [Finding(Severity.INFO, "no-models", "env.py passes no target_metadata: no models to compare")]
    source = models_of(project)
    try:
        models = models_snapshot(run, source, base_for_extensions)
    except StageError as exc:
        return [Finding(Severity.ERROR, exc.code, str(exc), object=exc.object, hint=exc.hint)]
    scope = drift_scope(source.filters(models, live, frozenset()), models, live)
    differences = diff_snapshots(narrow(models, scope), narrow(live, scope), expected_label="models",
                                 actual_label="database", ignore=ignore)
    if not differences:
        return [Finding(Severity.INFO, "models-match", "the schema matches the models")]
    found = []
    for difference in differences:
        code, hint = _classify(difference.object, difference.property, difference.message)
        found.append(Finding(Severity.WARNING, code, difference.message, object=difference.object, hint=hint))
    return found


def _classify(obj: str, prop: str, message: str) -> tuple[str, str]:
    if prop != "exists":
        return "differs-from-models", "bring the database and the models together with a migration"
    if "missing in database" in message:
        return ("missing-in-database",
                "the models declare it: run the pending migrations, or write the one that creates it")
    return ("not-in-models", "no model declares it: add it to the models if the code needs it, "
                             "or a migration that drops it if not")
