"""One module per subcommand: each has HELP, add_arguments(parser) and run(args) -> exit code."""

from checks.commands import (
    backup,
    bench,
    current,
    db_down,
    db_up,
    doctor,
    downgrade,
    heads,
    history,
    lock,
    pending,
    psql,
    reset_db,
    restore,
    stamp,
    upgrade,
    verify,
)

COMMANDS = {"verify": verify, "doctor": doctor, "reset-db": reset_db, "bench": bench, "lock": lock,
            "backup": backup, "restore": restore, "current": current, "history": history,
            "heads": heads, "pending": pending, "stamp": stamp, "upgrade": upgrade,
            "downgrade": downgrade, "db-up": db_up, "db-down": db_down, "psql": psql}
