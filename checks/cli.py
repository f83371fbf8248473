"""Command line: `python -m checks <command>`. Only this module parses arguments."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from checks.errors import USAGE_ERRORS, VerifyError
from harness.errors import mask_passwords

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class _Parser(argparse.ArgumentParser):
    """argparse echoes what it rejects (`unrecognized arguments: --url postgresql://u:pw@...`)."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {mask_passwords(message)}\n")


def _parser() -> argparse.ArgumentParser:
    from checks.commands import COMMANDS

    parser = _Parser(prog="python -m checks",
                                     description="Verify an Alembic project against throwaway PostgreSQL.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, module in COMMANDS.items():
        module.add_arguments(sub.add_parser(name, help=module.HELP))
    return parser


def _interrupt(signum, frame):
    # SIGTERM (CI cancelling a job) unwinds like Ctrl-C, so servers are stopped and removed.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    signal.signal(signal.SIGTERM, _interrupt)
    from checks.commands import COMMANDS

    try:
        return COMMANDS[args.command].run(args)
    except USAGE_ERRORS as exc:
        print(f"error: {mask_passwords(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except VerifyError as exc:
        print(f"failed: {mask_passwords(str(exc))}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted: throwaway servers and databases were removed", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `verify | head`: the reader left; say nothing more, and keep Python from complaining.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


def entry() -> None:
    """The `alembic-verify` console script."""
    sys.exit(main())
