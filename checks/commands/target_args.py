"""Options and the common opening of every command that acts on the developer's own database.

A command that can lose data goes through `guard` then `take_backup`: refuse a database
that does not look local, refuse where nobody can confirm, back it up and say where,
then ask. Only after all that may it change anything.
"""

from __future__ import annotations

import sys
from pathlib import Path

from checks.recovery.backup import DEFAULT_FOLDER, Backup, backup
from checks.recovery.safety import Consent, confirm, refuse_remote, require_consent_possible
from checks.recovery.target import Target
from checks.recovery.target_url import announce


def add_target_arguments(parser, destructive: bool = False) -> None:
    parser.add_argument("--url", help="the database, e.g. postgresql://me@localhost/app_dev "
                                      "(default: $DATABASE_URL, else alembic.ini's sqlalchemy.url)")
    parser.add_argument("--force", action="store_true",
                        help="act on a database that does not look local (remote host, prod-like name)")
    if destructive:
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        parser.add_argument("--backups", default=str(DEFAULT_FOLDER),
                            help=f"folder for the backup taken first (default: {DEFAULT_FOLDER})")


def local_target(args, task: str, project=None, out=None) -> Target:
    """The target, named first on `out` (stdout), refused unless it looks local or --force was given."""
    target = Target.resolve(args.url, project)
    announce(task, target, out or sys.stdout)
    refuse_remote(target, Consent(force=args.force), task)
    return target


def consent(args) -> Consent:
    return Consent(yes=args.yes, force=args.force)


def guard(args, task: str, what: str, project=None) -> Target:
    """Every refusal, before anything is read or written."""
    target = local_target(args, task, project)
    target.require_application_database()
    require_consent_possible(consent(args), task, what)
    return target


def take_backup(args, target: Target, task: str, out=None) -> Backup | None:
    """Back up the target (if it exists) and print where; None if there was nothing to keep."""
    out = out or sys.stdout
    if not target.exists():
        out.write(f"{task}: {target.describe()} does not exist yet; nothing to back up\n")
        return None
    made = backup(target, Path(args.backups), reason=f"before-{task}")
    at = ", ".join(made.info().get("revisions") or []) or "no revision"
    out.write(f"{task}: backed up {target.name} ({at}) to {made.path}\n"
              f"{task}: to get it back: invoke restore {made.path} (with the same --url)\n")
    return made


def ask(args, task: str, what: str) -> None:
    confirm(consent(args), task, what)
