"""`python -m checks restore FILE`: replace the developer's database with a backup.

The database as it is now is backed up first, so a restore of the wrong file is
itself undone by restoring that backup.
"""

from __future__ import annotations

import sys
from pathlib import Path

from checks.commands.target_args import add_target_arguments, ask, consent, guard, take_backup
from checks.errors import ConfigError
from checks.recovery.backup import Backup, BackupError, check_readable, restore
from checks.recovery.contents import contents
from checks.recovery.safety import clear_sessions


def add_arguments(parser) -> None:
    parser.add_argument("file", help="a .dump file written by `backup`")
    add_target_arguments(parser, destructive=True)


def run(args) -> int:
    path = Path(args.file)
    if not path.is_file():
        raise ConfigError(f"restore: no backup file at {path}; backups are in the backups/ folder "
                          "(ls backups/)")
    target = guard(args, "restore", "replace the database with a backup")
    check_readable(path, target)
    info = Backup(path).info()
    at = ", ".join(info.get("revisions") or []) or "unknown revision"
    held = contents(target) if target.exists() else "nothing yet"
    before = take_backup(args, target, "restore")
    ask(args, "restore", f"drop {target.describe()} ({held}) and restore {path.name} ({at}) into it")
    disconnect = target.exists() and clear_sessions(target, consent(args), "restore")
    try:
        restore(path, target, disconnect=disconnect)
    except BackupError as exc:
        # pg_restore ran in one transaction: the database is empty, not half-restored.
        back = f"; `invoke restore {before.path}` puts back what was there" if before else ""
        raise BackupError(f"{exc}; {target.name} is now empty{back}") from None
    sys.stdout.write(f"restore: {target.describe()} now holds {path} ({at})\n")
    return 0
