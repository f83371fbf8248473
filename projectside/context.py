"""The context the project's own migration command gives its code.

`alembic` runs env.py from the project folder, with alembic.ini's prepend_sys_path on
sys.path; `flask db` runs it inside the application's context, with the app created once
for the whole command. This process lives as long as the suite's run, so it does what
those commands do once per process: the folder and the paths are set at start, the
Flask app is created on first use and kept, and every call (loading the history, running
env.py online or offline, building the models) runs inside that app's context, or inside
the project's runner hook. Only the environment variables change from call to call: each
call names the database it is for, and env.py reads it from there as it always does.
"""

from __future__ import annotations

import importlib
import os
import re
import sys

_USES_CURRENT_APP = re.compile(r"^\s*from\s+flask\s+import\s+.*\bcurrent_app\b|\bflask\.current_app\b",
                               re.MULTILINE)


class ProjectFailure(Exception):
    """The project's settings or code cannot be used as given; the message says what to do."""


NO_METADATA = ("env.py passes no target_metadata to context.configure, so the models cannot be compared; "
               "set target_metadata in env.py or pass --metadata package.models:Base.metadata")


def wants_flask_app(env_py: str) -> bool:
    """Whether env.py reads Flask's current_app (Flask-Migrate's env.py does)."""
    try:
        with open(env_py, encoding="utf-8", errors="replace") as handle:
            return bool(_USES_CURRENT_APP.search(handle.read()))
    except OSError:
        return False


class Context:
    def __init__(self, root: str, paths: list, runner: str | None, flask_app: str | None,
                 flask_wanted: bool, source: str) -> None:
        self.root = root
        self.runner = runner
        self.flask_app = flask_app
        self.flask_wanted = flask_wanted or bool(flask_app)
        self.source = source  # where the settings came from, for messages
        self._app: FlaskApp | None = None
        os.chdir(root)
        # As the `alembic` console script: its own folder first, never the working directory.
        sys.path[:] = [entry for entry in sys.path if entry not in ("", ".", root)]
        sys.path[:0] = list(paths)
        if self.flask_wanted:
            from flask.cli import load_dotenv

            load_dotenv()  # .flaskenv and .env, as the flask command reads them, for every call
        self._base_environment = dict(os.environ)

    def set_environment(self, variables: dict | None) -> None:
        """The process environment as the project started with it, plus `variables`."""
        os.environ.clear()
        os.environ.update(self._base_environment)
        os.environ.update(variables or {})

    def resolve(self, reference: str, what: str):
        """Import "module:attr" from the project, with a message that says how to fix it."""
        module_name, _, attr = reference.partition(":")
        if not module_name or not attr:
            raise ProjectFailure(f"{what} {reference!r} must look like 'package.module:name'")
        try:
            target = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001 - any import failure is the project's
            raise ProjectFailure(
                f"cannot import {module_name} for {what} ({type(exc).__name__}: {exc}); "
                "check the name, and add its folder to sys_path in the suite's settings") from None
        for part in attr.split("."):
            if not hasattr(target, part):
                raise ProjectFailure(f"{what} {reference!r}: {module_name} has no attribute {attr!r}")
            target = getattr(target, part)
        return target

    def run(self, call):
        """`call()` inside the project's context: its runner hook, or its Flask app's."""
        if self.runner:
            runner = self.resolve(self.runner, "runner hook")
            if not callable(runner):
                raise ProjectFailure(f"runner hook {self.runner!r} is not callable")
            result = []
            runner(lambda: result.append(call()))
            if not result:
                raise ProjectFailure(f"the runner hook {self.runner} must call the function it is given")
            return result[0]
        if self.flask_wanted:
            if self._app is None:
                self._app = FlaskApp(self.flask_app, self.source)
            return self._app.run(call)
        return call()


class FlaskApp:
    """Calls run inside the Flask app's context, as `flask db` does: the app is created on
    first use and kept for the whole process, as the `flask` command creates it once.

    A factory that may only be called once (it registers blueprints on module-level objects,
    say) then works, and every call sees the same app. The app reads DATABASE_URL and friends
    when it is created; every database a run hands env.py carries the run's one name, so
    the app created first keeps pointing at the database each call means.
    """

    def __init__(self, reference: str | None, source: str) -> None:
        self.reference = reference
        self.source = source
        self._app = None

    def run(self, call):
        with self.app().app_context():
            return call()

    def app(self):
        if self._app is None:
            from flask.cli import NoAppException, ScriptInfo, load_dotenv

            load_dotenv()  # .flaskenv and .env, as the flask command reads them
            try:
                self._app = ScriptInfo(app_import_path=self.reference).load_app()
            except NoAppException as exc:
                hint = (f"fix flask_app = {self.reference!r} in {self.source}" if self.reference else
                        f'set flask_app = "package:create_app()" (what FLASK_APP names) in {self.source}')
                found = str(exc).strip().splitlines()[0]
                raise ProjectFailure("env.py reads Flask's current_app, and no Flask app was found "
                                     f"({found}); {hint}, or a runner hook") from None
            except Exception as exc:  # noqa: BLE001 - the app's own factory or configuration
                which = self.reference or "the one the flask command finds"
                gist = (str(exc).strip().splitlines() or [""])[0][:300]
                raise ProjectFailure(
                    f"the Flask app ({which}) failed when it was created: {type(exc).__name__}: {gist}; "
                    "`flask db heads` shows the same error: give the app the configuration it reads "
                    f"(the env table in {self.source}), or name another factory with flask_app") from None
        return self._app
