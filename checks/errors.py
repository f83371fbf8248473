"""Expected failures: each carries a one-line message that says what to do.

Anything else escaping a command is a bug and keeps its traceback.
"""

from __future__ import annotations

from harness.errors import HarnessError, mask_passwords


def shown(name: str) -> str:
    """A name from the user's file as a message shows it: quoted if it would break the line."""
    return name if name.isprintable() and name.strip() == name and name else repr(name)


class VerifyError(Exception):
    """Base for expected failures; `str()` is the message shown to the user."""

    def __init__(self, message: str) -> None:
        super().__init__(mask_passwords(message))


class ConfigError(VerifyError):
    """The project or the command line is wrong: exit code 2."""


class ProjectError(VerifyError):
    """The target project could not be loaded or run (env.py, models, alembic.ini): exit code 2."""


# PostgreSQL's words for a statement sent after one that failed in the same transaction.
ABORTED = "current transaction is aborted"
CAUGHT_EARLIER = ("an earlier statement of this revision failed and its code caught the error (a try/except "
                  "around op calls), so PostgreSQL refused every statement after it: let that error through "
                  "to see it (it is the revision's real failure), or run the statement that may fail inside "
                  "a savepoint (with op.get_bind().begin_nested(): ...)")


class MigrationError(VerifyError):
    """A revision failed against the database; names the revision and its file."""

    def __init__(self, message: str, revision: str | None = None, path: str | None = None,
                 db_error: str | None = None, line: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is None and db_error and ABORTED in db_error:
            hint = CAUGHT_EARLIER
        self.hint = hint  # what to do, when the failure is not simply the revision's own error
        self.revision = revision
        self.path = path
        self.line = line  # the failing line in the revision file, when its traceback shows it
        self.db_error = mask_passwords(db_error) if db_error else None

    @property
    def declared_one_way(self) -> bool:
        """The revision's code raised NotImplementedError: irreversible on purpose, not broken."""
        return bool(self.db_error) and self.db_error.startswith("NotImplementedError")


class StageError(VerifyError):
    """A stage could not finish; it reports `error` with this cause, and the others still run."""

    def __init__(self, code: str, message: str, object: str | None = None, hint: str | None = None,
                 revision: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.object = object
        self.hint = mask_passwords(hint) if hint else None
        self.revision = revision


USAGE_ERRORS = (ConfigError, ProjectError, HarnessError)
