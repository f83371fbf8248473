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


class _Command(_Parser):
    """A subcommand's parser, which imports its command and adds its options only when that
    command is the one chosen (or its help asked for): `--help` lists every command without
    importing any."""

    def __init__(self, *args, command: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.command, self.loaded = command, False

    def _load(self) -> None:
        if not self.loaded:
            from checks.commands import load

            load(self.command).add_arguments(self)
            self.loaded = True

    def parse_known_args(self, args=None, namespace=None):
        self._load()
        return super().parse_known_args(args, namespace)

    def format_help(self) -> str:
        self._load()
        return super().format_help()


def _parser() -> argparse.ArgumentParser:
    from checks.commands import HELP
    from checks.version import DISTRIBUTION, VERSION

    parser = _Parser(prog="python -m checks",
                                     description="Verify an Alembic project against throwaway PostgreSQL.")
    parser.add_argument("--version", action="version", version=f"{DISTRIBUTION} {VERSION}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Command)
    for name, text in HELP.items():
        sub.add_parser(name, help=text, command=name)
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
    from checks.commands import load

    try:
        return load(args.command).run(args)
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
    """The `alembic-preflight` console script."""
    sys.exit(main())
