"""One module per subcommand; each exposes a function taking parsed arguments, returning an exit code."""

from checks.commands.verify import verify

COMMANDS = {"verify": verify}
