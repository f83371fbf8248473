"""`python -m checks psql`: a psql session on the developer's database, matching its server."""

from __future__ import annotations

import signal
import subprocess
import sys

from checks.commands.target_args import add_target_arguments, local_target
from checks.recovery.backup import connection_args, tool_environment
from harness.client_tools import client_tool


def add_arguments(parser) -> None:
    add_target_arguments(parser)
    # dest "sql": "command" is the CLI's own name for the subcommand.
    parser.add_argument("--command", "-c", dest="sql",
                        help="run this SQL and exit, instead of an interactive session")


def run(args) -> int:
    target = local_target(args, "psql", out=sys.stderr)
    psql = client_tool("psql", target.server.major, strict=False)
    cmd = [psql.path, *connection_args(target), "--dbname", target.name]
    if args.sql:
        cmd += ["--no-psqlrc", "--command", args.sql]
    # Ctrl-C belongs to psql (it cancels the running query), not to this waiting process.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return subprocess.call(cmd, env=tool_environment(target))
    finally:
        signal.signal(signal.SIGINT, previous)
