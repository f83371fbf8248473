"""The process state a target project's env.py expects while it runs.

env.py files in the wild read their database from the config's sqlalchemy.url, from
`config.attributes["connection"]`, from DATABASE_URL, or from app settings built out of
environment variables; they resolve relative paths against the working directory and
import the project's packages from sys.path. This module sets all of that up around
one Alembic call and puts it back afterwards.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy.engine import URL

from checks.errors import ProjectError
from checks.project.output import ProjectOutput
from checks.project.settings import Settings
from harness.server import Endpoint


def url_string(url: URL) -> str:
    return url.render_as_string(hide_password=False)


class ProjectEnvironment:
    def __init__(self, root: Path, settings: Settings) -> None:
        self.root = root
        self.settings = settings
        # Only what `alembic` would add, plus the sys_path setting: see locations.sys_path.
        self.paths: list[str] = []
        # The database env.py is handed whenever a call names none: a run keeps one name
        # for every database env.py touches, so settings read once at import stay right.
        self.default_database: tuple[Endpoint, str] | None = None
        # Everything env.py and the migrations print (alembic's INFO log lines, say) goes
        # here instead of interleaving with our report; its tail explains failures.
        self.output = ProjectOutput(root)
        # The driver env.py's URLs name (checks.project.driver chooses it for the project).
        self.driver: str | None = None

    def url(self, endpoint: Endpoint, database: str) -> URL:
        """The URL env.py is handed for `database`."""
        return endpoint.url(database, self.driver) if self.driver else endpoint.url(database)

    def variables(self, endpoint: Endpoint, database: str) -> dict[str, str]:
        url = url_string(self.url(endpoint, database))
        parts = {"host": endpoint.host, "port": str(endpoint.port), "user": endpoint.user,
                 "password": endpoint.password, "database": database, "url": url}
        result = {"DATABASE_URL": url}
        for name, template in self.settings.env.items():
            try:
                result[name] = template.format(**parts)
            except (KeyError, IndexError, ValueError):
                raise ProjectError(
                    f"{self.settings.source}: env.{name} = {template!r} uses an unknown "
                    f"placeholder; use {{host}} {{port}} {{user}} {{password}} {{database}} {{url}}"
                ) from None
        return result

    @contextlib.contextmanager
    def active(self, endpoint: Endpoint | None = None, database: str | None = None) -> Iterator[None]:
        """Working directory, sys.path, environment and output capture for one call."""
        if database is None and self.default_database is not None:
            endpoint, database = self.default_database
        saved_env = dict(os.environ)
        saved_cwd = os.getcwd()
        saved_path = list(sys.path)
        if endpoint is not None and database is not None:
            os.environ.update(self.variables(endpoint, database))
        sys.path[:0] = self.paths
        os.chdir(self.root)
        try:
            with contextlib.redirect_stdout(self.output), contextlib.redirect_stderr(self.output):
                yield
        finally:
            os.chdir(saved_cwd)
            sys.path[:] = saved_path
            os.environ.clear()
            os.environ.update(saved_env)

    def output_tail(self, lines: int = 6) -> str:
        return self.output.tail(lines)

    def resolve(self, reference: str, what: str) -> object:
        """Import "module:attr" from the project, with a message that says how to fix it."""
        module_name, _, attr = reference.partition(":")
        if not module_name or not attr:
            raise ProjectError(f"{what} {reference!r} must look like 'package.module:name'")
        with self.active():
            try:
                module = importlib.import_module(module_name)
            except Exception as exc:  # noqa: BLE001 - any import failure is the project's
                raise ProjectError(
                    f"cannot import {module_name} for {what} ({type(exc).__name__}: {exc}); "
                    "check the name, and add its folder to sys_path in the suite's settings"
                ) from None
        target: object = module
        for part in attr.split("."):
            if not hasattr(target, part):
                raise ProjectError(f"{what} {reference!r}: {module_name} has no attribute {attr!r}")
            target = getattr(target, part)
        return target

    def hook(self, reference: str | None, what: str) -> Callable | None:
        if reference is None:
            return None
        hook = self.resolve(reference, what)
        if not callable(hook):
            raise ProjectError(f"{what} {reference!r} is not callable")
        return hook
