"""One module per subcommand: each has HELP, add_arguments(parser) and run(args) -> exit code."""

from checks.commands import bench, doctor, lock, reset_db, verify

COMMANDS = {"verify": verify, "reset-db": reset_db, "bench": bench, "lock": lock, "doctor": doctor}
