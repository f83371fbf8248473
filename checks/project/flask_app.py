"""Flask-Migrate projects: env.py reads its engine and models from `current_app`.

`flask db upgrade` runs env.py inside the application's context; outside one, env.py
fails with "Working outside of application context". Rather than ask every Flask project
for a runner hook, the suite finds the app the way the `flask` command does (FLASK_APP,
.flaskenv, or wsgi.py / app.py in the project folder) and runs env.py inside its context.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from checks.errors import ProjectError

_USES_CURRENT_APP = re.compile(r"^\s*from\s+flask\s+import\s+.*\bcurrent_app\b|\bflask\.current_app\b",
                               re.MULTILINE)


def wants_app(env_py: Path) -> bool:
    """Whether env.py reads Flask's current_app."""
    try:
        return bool(_USES_CURRENT_APP.search(env_py.read_text(errors="replace")))
    except OSError:
        return False


def app_context_runner(reference: str | None, source: str) -> Callable[[Callable[[], None]], None]:
    """A runner that calls its argument inside the Flask app's context, as `flask db` does.

    Imported when called, inside the project's environment: the app reads DATABASE_URL and
    friends as it is created, so it must be created for each database the suite hands out.
    """

    def run(call: Callable[[], None]) -> None:
        from flask.cli import NoAppException, ScriptInfo, load_dotenv

        load_dotenv()  # .flaskenv and .env, as the flask command reads them
        try:
            app = ScriptInfo(app_import_path=reference).load_app()
        except NoAppException as exc:
            hint = (f"fix flask_app = {reference!r} in {source}" if reference else
                    f'set flask_app = "package:create_app()" (what FLASK_APP names) in {source}')
            raise ProjectError(f"env.py reads Flask's current_app, and no Flask app was found "
                               f"({str(exc).strip().splitlines()[0]}); {hint}, or a runner hook") from None
        with app.app_context():
            call()

    return run
