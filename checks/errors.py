"""Expected failures: each carries a one-line message that says what to do.

Anything else escaping a command is a bug and keeps its traceback.
"""

from __future__ import annotations

from harness.errors import HarnessError, mask_passwords


class VerifyError(Exception):
    """Base for expected failures; `str()` is the message shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(mask_passwords(message))


class ConfigError(VerifyError):
    """The project or the command line is wrong: exit code 2."""


class ProjectError(VerifyError):
    """The target project could not be loaded or run (env.py, models, alembic.ini): exit code 2."""


class MigrationError(VerifyError):
    """A revision failed against the database; names the revision and its file."""

    def __init__(self, message: str, revision: str | None = None, path: str | None = None,
                 db_error: str | None = None) -> None:
        super().__init__(message)
        self.revision = revision
        self.path = path
        self.db_error = mask_passwords(db_error) if db_error else None


USAGE_ERRORS = (ConfigError, ProjectError, HarnessError)
