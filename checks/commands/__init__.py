"""One module per subcommand: each has HELP, add_arguments(parser) and run(args) -> exit code."""

from checks.commands import verify

COMMANDS = {"verify": verify}
