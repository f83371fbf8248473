"""Flask-Migrate projects: env.py reads its engine and models from `current_app`.

`flask db upgrade` runs env.py inside the application's context; outside one, env.py
fails with "Working outside of application context". Rather than ask every Flask project
for a runner hook, the suite finds the app the way the `flask` command does (FLASK_APP,
.flaskenv, or wsgi.py / app.py in the project folder) and runs env.py inside its context.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from checks.errors import ProjectError
from projectside.context import FlaskApp as _FlaskApp
from projectside.context import ProjectFailure, wants_flask_app


def started_by(settings) -> str:
    """The project's code that runs before env.py does, as a message names it."""
    if settings.runner:
        return f"the runner hook {settings.runner}"
    return f"the Flask app ({settings.flask_app})" if settings.flask_app else "the app env.py loads"


def wants_app(env_py: Path) -> bool:
    """Whether env.py reads Flask's current_app."""
    return wants_flask_app(str(env_py))


class FlaskApp(_FlaskApp):
    """`projectside.context.FlaskApp`, its failures said as the suite's."""

    def run(self, call: Callable[[], None]) -> None:
        try:
            app = self.app()
        except ProjectFailure as exc:
            raise ProjectError(str(exc)) from None
        with app.app_context():
            call()
