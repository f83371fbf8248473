"""Build the history up to the squash point on a throwaway database and read its schema back."""

from __future__ import annotations

from checks.errors import MigrationError, VerifyError
from checks.parallel import rows
from checks.progress import Progress
from checks.run import Run
from checks.squash import roles
from checks.squash.dump import Statements, schema_statements
from checks.squash.plan import Plan
from harness.server import Server


def built_statements(run: Run, plan: Plan) -> Statements:
    """What the squashed revisions build, less what an empty database of the run holds already."""
    project = run.project
    done = 0

    def step(revision, _connection) -> None:
        nonlocal done
        done += 1
        run.progress.step("squash", done, len(plan.squashed), revision.revision)

    with run.work_database("squash") as db:
        project.bootstrap(db)
        try:
            project.run_steps(db, plan.squashed, upgrade=True, after_step=step)
        except MigrationError as exc:
            raise VerifyError(f"the history does not build up to {plan.point.revision}: upgrade of "
                              f"{exc.revision} failed: {exc.db_error or exc}; fix it (python -m checks "
                              "verify --stage fresh) before squashing") from None
        with run.server.connect(db.name) as conn:
            left = {table: count for table, count in rows.counts(conn, run.version_table).items() if count}
    run.progress.clear()
    schema = project.captured.options.get("version_table_schema")
    built = schema_statements(run.server, db.name, run.version_table, schema)
    empty = run.database("squash-empty")
    project.bootstrap(empty)
    statements = _over(built, schema_statements(run.server, empty.name, run.version_table, schema))
    builder = run.server.endpoint.user
    statements.create = roles.as_anyone(statements.create, builder)
    statements.drop = roles.undo_default_privileges(statements.create) + statements.drop
    needed = roles.named_roles(statements.create, builder)
    statements.roles = [roles.create_if_missing(name) for name in needed]
    statements.rows = left
    return statements


def squash_statements(project, server: Server, plan: Plan, progress: Progress) -> Statements:
    return built_statements(Run(project, server, progress), plan)


def _over(built: Statements, before: Statements) -> Statements:
    """The base's statements over what an empty database of the run holds (the bootstrap
    hook's objects). Where the history changed one of those, a statement of `built` cannot
    build on top of it (CREATE TABLE of a table that exists): the base then drops what the
    bootstrap made, which a new database holds no rows in yet, builds all of it, and its
    downgrade makes the bootstrap's objects again."""
    changed = set(before.create) - set(built.create)
    if not any(not statement.startswith("SET ") for statement in changed):
        return built.without(before)
    return Statements(before.drop + built.create, built.drop + before.create)
