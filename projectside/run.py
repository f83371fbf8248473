"""Running env.py with an explicit list of one-revision steps, pausing for the suite.

The suite looks at the database between steps through the migration's own connection,
inside its transaction: nothing else sees the uncommitted schema. So at each point it
asks for (env.py configured, before a step's function, after each step) this process
sends an event and, until the suite says to resume, runs the statements the suite sends
on that connection and returns their rows. What the suite decides (skip a step whose
inverse it rolled back, say) comes back with the resume.
"""

from __future__ import annotations

import contextlib

from .context import ProjectFailure
from .imports import binds_on_import, imported_in_step
from .steps import Step


class Paused:
    """Where the suite's statements run while env.py waits: the migration's connection."""

    def __init__(self) -> None:
        self.connection = None

    def rows(self, statements: list) -> list:
        """Each statement's rows (None for a statement that returns none), in order."""
        if self.connection is None:
            raise RuntimeError("no migration connection to run statements on (offline mode)")
        from sqlalchemy import text

        connection = self.connection
        # SQLAlchemy 1.3 runs a plain string with execute(); 1.4 and 2 with exec_driver_sql().
        plain = getattr(connection, "exec_driver_sql", None) or connection.execute
        results = []
        for statement, params in statements:
            # The suite writes psycopg's %(name)s; SQLAlchemy binds it for any driver.
            result = connection.execute(text(_named(statement)), params) if params else plain(statement)
            results.append([list(row) for row in result.fetchall()] if result.returns_rows else None)
        return results


def autocommits(connection) -> bool:
    """Whether the DBAPI connection under a SQLAlchemy one commits every statement itself
    (no savepoint can be set on it)."""
    pooled = getattr(connection, "connection", None)
    raw = getattr(pooled, "dbapi_connection", None) or getattr(pooled, "connection", None)
    return getattr(raw, "autocommit", False) is True


def _named(statement: str) -> str:
    import re

    converted = re.sub(r"%\((\w+)\)s", r":\1", statement).replace("%%", "%")
    return converted.replace("::", "\\:\\:")


def configure_options(kwargs: dict) -> dict:
    """What env.py passed to context.configure, as data the suite can read."""
    plain = {}
    for key, value in kwargs.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            plain[key] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            plain[key] = list(value)
        else:
            plain[key] = "<callable>" if callable(value) else "<object>"
    return plain


@contextlib.contextmanager
def capture_configure(on_configure, on_version_apply, commit_each: bool):
    """Hand env.py's context.configure call to `on_configure` and add our per-step callback;
    with `commit_each`, each step in a transaction of its own (Alembic's
    transaction_per_migration)."""
    from alembic.runtime.environment import EnvironmentContext

    original = EnvironmentContext.configure

    def configure(self, *args, **kwargs):
        on_configure(kwargs)
        theirs = kwargs.get("on_version_apply")
        theirs = list(theirs) if isinstance(theirs, (list, tuple)) else [theirs] if theirs else []
        kwargs["on_version_apply"] = (*theirs, on_version_apply)
        if commit_each:
            kwargs["transaction_per_migration"] = True
        configured = original(self, *args, **kwargs)
        _require_postgresql(self.get_context())
        return configured

    EnvironmentContext.configure = configure
    try:
        yield
    finally:
        EnvironmentContext.configure = original


def _require_postgresql(context) -> None:
    """Refuse a connection to anything but PostgreSQL before Alembic writes to it (its
    version table comes next): an env.py that took the app's development URL, a SQLite
    file, instead of the one it was handed."""
    if context.connection is not None and context.dialect.name != "postgresql":
        raise ProjectFailure(
            f"env.py connected to a {context.dialect.name} database, not the throwaway PostgreSQL "
            "database it was given; nothing was run there. Have env.py take its URL from "
            "config.get_main_option('sqlalchemy.url') (the suite sets it), or map the app's settings "
            'to the suite\'s server in [tool.alembic-preflight] env, e.g. env = { DATABASE_URL = "{url}" }')


class Walk:
    """One run of env.py over `plan` ([revision id, upgrade?] pairs)."""

    def __init__(self, history, plan: list, event, paused: Paused, pause_before: list, ask_skip: bool,
                 commit_each: bool) -> None:
        self.history = history
        self.plan = plan
        self.event = event  # event(name, data) -> what the suite resumed with
        self.paused = paused
        self.pause_before = set(pause_before)
        self.ask_skip = ask_skip
        self.commit_each = commit_each
        self.started = False
        self.done = 0
        self.options: dict = {}
        self.meter = None  # projectside.measure's, when the suite asks for it as env.py starts

    def steps(self) -> list:
        revision_map = self.history.script.revision_map
        steps = [Step(revision_map, revision_map.get_revision(rev), up) for rev, up in self.plan]
        for one in steps:
            if binds_on_import(one.revision.path):
                one.migration_fn = imported_in_step(one.revision.path, one.is_upgrade, one.migration_fn)
        for index in self.pause_before:
            steps[index].migration_fn = self._paused_first(index, steps[index].migration_fn)
        return steps

    def _paused_first(self, index: int, function):
        def run(**kwargs):
            from alembic import op

            self.paused.connection = op.get_bind()
            self._event("before_function", {"index": index})
            return function(**kwargs)
        run.__name__ = function.__name__  # Alembic names the step after it
        return run

    def run(self, cfg, options: dict) -> None:
        from alembic.runtime.environment import EnvironmentContext

        steps = self.steps()
        script = self.history.script

        def choose_steps(_heads, context):
            self.paused.connection = context.connection
            self.started = True
            self.prepare(context)
            heads = list(context.get_current_heads()) if context.connection is not None else []
            asked = self._event("started", {"options": configure_options(self.options), "heads": heads,
                                            "as_sql": bool(context.as_sql)})
            if isinstance(asked, dict) and asked.get("measure") and context.connection is not None:
                from .measure import attach

                self.meter = attach(context.connection, asked["measure"])
            return steps if not self.ask_skip else self._taken(steps)

        def on_version_apply(ctx, step, heads, run_args):
            self.done += 1
            self.paused.connection = ctx.connection
            data = self.applied({"index": self.done - 1})
            if self.meter is not None:
                data["measured"] = self.meter.take()
            asked = self._event("step", data)
            if self.meter is not None:
                self.meter.resume(reread=isinstance(asked, dict) and bool(asked.get("reread")))

        def on_configure(kwargs):
            self.options = dict(kwargs)

        try:
            with EnvironmentContext(cfg, script, fn=choose_steps, **options), \
                    capture_configure(on_configure, on_version_apply, self.commit_each):
                script.run_env()
        finally:
            if self.meter is not None:
                self.meter.detach()
                self.meter = None

    def prepare(self, context) -> None:
        """Once env.py has configured the MigrationContext, before the first step: what a
        walk of another kind sets up on it."""

    def applied(self, data: dict) -> dict:
        """What the "step" event tells the suite of the step just applied."""
        return data

    def _event(self, name: str, data: dict):
        data["autocommit"] = autocommits(self.paused.connection)
        return self.event(name, data)

    def _taken(self, steps):
        # Alembic asks for each step only once the one before it is done.
        for index, one in enumerate(steps):
            if index and self._event("skip", {"index": index}):
                steps[index - 1].unbook()
                self.done += 1
                continue
            yield one
