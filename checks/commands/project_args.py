"""The options that name a target project, shared by every command that opens one."""

from __future__ import annotations

import sys
from pathlib import Path

from checks.errors import ConfigError
from checks.project import interpreter
from checks.project.project import Project
from checks.project.settings import load_settings


def add_project_arguments(parser) -> None:
    parser.add_argument("--project", default=".", help="folder holding alembic.ini (default: .)")
    parser.add_argument("--alembic-ini", help="alembic.ini path, if not PROJECT/alembic.ini")
    parser.add_argument("--config", help="settings file (default: alembic-preflight.toml in PROJECT or "
                                          "beside alembic.ini, or [tool.alembic-preflight] in "
                                          "PROJECT/pyproject.toml)")
    parser.add_argument("--driver", help="the PostgreSQL driver env.py is handed, e.g. psycopg2 "
                                          "(default: setting driver, else the one the project's "
                                          "URL or SQLAlchemy names)")
    parser.add_argument("--python", help="the project's own Python (its interpreter or virtual environment "
                                          "folder): the project's code runs there, nothing is installed "
                                          "into it (default: setting python, else the active virtual "
                                          "environment, else the project's .venv or venv folder, else "
                                          "the suite's own)")


def _ini_folder(root: Path, alembic_ini: str | None) -> Path | None:
    """The folder of alembic.ini when it is not the project's own: --alembic-ini's, or
    migrations/ where Flask-Migrate keeps it (a settings file beside it is read too)."""
    if alembic_ini:
        ini = Path(alembic_ini)
        return (ini if ini.is_absolute() else root / ini).parent
    if not (root / "alembic.ini").is_file() and (root / "migrations" / "alembic.ini").is_file():
        return root / "migrations"
    return None


def open_project(args, metadata_override: str | None = None) -> Project:
    root = Path(args.project)
    if not root.is_dir():
        raise ConfigError(f"project directory not found: {root}; pass --project DIR, the folder "
                          "that holds alembic.ini")
    settings = load_settings(root.resolve(), Path(args.config) if args.config else None,
                             _ini_folder(root.resolve(), args.alembic_ini))
    chosen = interpreter.choose(root.resolve(), getattr(args, "python", None), settings.python,
                                settings.home())
    project = Project(root, alembic_ini=args.alembic_ini, settings=settings,
                      metadata_override=metadata_override, driver_override=args.driver,
                      python=chosen.path, python_source=chosen.source)
    if project.drivers.note:
        # Not on stdout: commands such as `current` print what scripts read there.
        print(f"note: {project.drivers.note}", file=sys.stderr)
    return project
