"""Command line: `python -m checks <command>`. Only this module parses arguments."""

from __future__ import annotations

import argparse
import signal
import sys

from checks.errors import USAGE_ERRORS
from checks.stages import STAGES
from harness.errors import mask_passwords
from harness.select import BACKENDS

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m checks",
                                     description="Verify an Alembic project against throwaway PostgreSQL.")
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="run the checklist stages")
    verify.add_argument("--project", default=".", help="folder holding alembic.ini (default: .)")
    verify.add_argument("--alembic-ini", help="alembic.ini path, if not PROJECT/alembic.ini")
    verify.add_argument("--config", help="settings file (default: PROJECT/alembic-verify.toml "
                                         "or [tool.alembic-verify] in PROJECT/pyproject.toml)")
    verify.add_argument("--stage", action="append", metavar="NAME",
                        help=f"run only this stage (repeatable): {', '.join(STAGES)}")
    verify.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="where the server comes from (default: auto)")
    verify.add_argument("--url", help="an existing server to create throwaway databases on")
    verify.add_argument("--pg", type=int, metavar="MAJOR", help="PostgreSQL major version")
    verify.add_argument("--metadata", metavar="MODULE:ATTR", help="the models' MetaData, if not env.py's")
    verify.add_argument("--report-json", metavar="FILE", help="also write the results as JSON")
    verify.add_argument("--strict", action="store_true", help="lint warnings fail the run")
    verify.add_argument("-v", "--verbose", action="store_true", help="list findings of passing stages too")
    verify.add_argument("--quiet-progress", action="store_true", help="no progress lines")
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
        return COMMANDS[args.command](args)
    except USAGE_ERRORS as exc:
        print(f"error: {mask_passwords(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted: throwaway servers and databases were removed", file=sys.stderr)
        return EXIT_INTERRUPTED
