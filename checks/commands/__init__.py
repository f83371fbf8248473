"""One module per subcommand: each has add_arguments(parser) and run(args) -> exit code.

Only the chosen command's module is imported: `python -m checks verify` pays for neither
the bench's nor the doctor's imports. So each command's one-line help, shown by
`python -m checks --help`, lives here rather than in its module.
"""

from __future__ import annotations

import importlib
from types import ModuleType

HELP = {
    "verify": "run the checklist stages",
    "doctor": "diagnose a real database, read-only: its revision, hand-made objects, drift from the models",
    "reset-db": "back up, drop and rebuild a local database from the migrations (asks first)",
    "bench": "time verify against a bare `alembic upgrade head` and pytest-alembic",
    "lock": "lock the revision files: the files stage then fails if a locked one changes",
    "backup": "dump a local database (custom format) into a timestamped file, revision recorded beside it",
    "restore": "replace a local database with a backup file (backs the database up first)",
    "current": "the revision a database is at, and whether that is the head",
    "history": "list the project's revisions, newest first",
    "heads": "the project's head revision(s); more than one means an unmerged branch",
    "pending": "the revisions an upgrade to head would apply to a database, in order",
    "stamp": "record REV in a local database's version table without running migrations (backs up first)",
    "upgrade": "upgrade a local database to REV (default: heads) through the project's env.py",
    "downgrade": "downgrade a local database to REV (backs it up and asks first)",
    "db-up": "start a persistent local PostgreSQL for development (compose.dev.yml, data in a named volume)",
    "db-down": "stop the persistent dev server (its volume, and every database in it, is kept)",
    "squash": "replace a long history with one base revision that builds the same schema (asks first)",
    "psql": "open psql on a local database (the password never appears on the command line)",
}


def load(name: str) -> ModuleType:
    """The module of the command called `name` (a key of HELP)."""
    return importlib.import_module(f"checks.commands.{name.replace('-', '_')}")
