"""`python -m checks bench`: time verify against the floor and pytest-alembic on a long history."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from checks.bench import measure, pr_mode, rehearsal
from checks.bench.history import MERGES
from checks.bench.project import generate
from checks.bench.report import SizeResult, print_table, targets, write_json
from checks.errors import ConfigError
from harness.select import BACKENDS, open_server

DEFAULT_SIZES = (50, 200, 500)
# The pull-request run (checks/bench/pr_mode.py: one new revision on a warm cache) joins the
# measured commands here, as pr_mode stands on measure.
COMMANDS = [*measure.COMMANDS,
            measure.Command("pull_request", "verify --since (1 new, warm cache)", pr_mode.pull_request)]


def add_arguments(parser) -> None:
    parser.add_argument("--revisions", type=int, nargs="+", default=list(DEFAULT_SIZES), metavar="N",
                        help="history sizes to generate and time (default: 50 200 500; add 2000 for the "
                             "large-history targets; pytest-alembic runs up to 500)")
    parser.add_argument("--tables", type=int, help="tables each history creates (default: 30%% of its "
                                                   "revisions, 60 at 200)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is "
                                                              "reported (default: 3)")
    parser.add_argument("--json", default="bench.json", metavar="FILE",
                        help="write the results here (default: bench.json)")
    parser.add_argument("--backend", default="local", choices=BACKENDS,
                        help="the server the timed commands run against (default: local)")
    parser.add_argument("--pg", type=int, metavar="MAJOR", help="PostgreSQL major version")
    parser.add_argument("--url", help="an existing server to create the bench's databases on")
    parser.add_argument("--keep", metavar="DIR",
                        help="generate the projects here (one folder per size) and keep them")
    parser.add_argument("--seed", type=int, default=7, help="history generator seed (default: 7)")
    parser.add_argument("--merges", type=int, default=len(MERGES), metavar="N",
                        help="merge revisions in each history of 20 revisions or more, each joining two "
                             f"branches (default: {len(MERGES)})")
    parser.add_argument("--rehearse", action=argparse.BooleanOptionalAction, default=None,
                        help="time a revision of a generated history at two sizes, estimate a larger one "
                             "as the rehearse stage does, and measure it (default: on with the default "
                             "--revisions)")
    parser.add_argument("--rehearse-rows", type=int, default=rehearsal.LARGEST_ROWS, metavar="N",
                        help="the size the rehearsal estimates and measures; it times 1/16 and 1/4 of it "
                             f"(default: {rehearsal.LARGEST_ROWS})")
    parser.add_argument("--check-targets", action="store_true", help="exit 1 when a target is missed")


def _tables(args, revisions: int) -> int:
    return args.tables if args.tables else max(1, round(revisions * 0.3))


def run(args) -> int:
    sizes = sorted(set(args.revisions))
    if args.repeat < 1 or any(n < 1 or not 1 <= _tables(args, n) <= n for n in sizes):
        raise ConfigError("need --repeat >= 1 and, for every size, 1 <= --tables <= --revisions")
    if args.merges < 0 or any(n >= 20 and args.merges * 4 + 8 > n for n in sizes):
        raise ConfigError(f"--merges {args.merges} needs every --revisions size to be at least "
                          f"{max(args.merges, 0) * 4 + 8}")
    if args.rehearse_rows < 16:
        raise ConfigError("need --rehearse-rows >= 16 (its sixteenth is the smallest size timed)")
    rehearse = args.rehearse if args.rehearse is not None else sizes == list(DEFAULT_SIZES)
    rehearsed = None
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="alembic-preflight-bench-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp)
        projects = [generate((root / f"r{n}").resolve(), n, _tables(args, n), args.seed, args.merges)
                    for n in sizes]
        for project in projects:
            out.write(f"generated {project.revisions} revisions over {project.tables} tables "
                      f"in {project.root}\n")
        out.write("timing server starts...\n")
        out.flush()
        try:
            starts = measure.server_starts(args.pg, args.repeat)
            with open_server(args.backend, args.pg, args.url) as server:
                info = {"backend": server.backend, "version": server.version, "describe": server.describe()}
                results = [SizeResult(project, [(c.key, c.label, measure.Measurement(c.label,
                                                                                     skipped=c.skips(project)))
                                                for c in COMMANDS]) for project in projects]
                # Round robin, so a busy neighbour on the machine slows every contender alike.
                for round_ in range(1, args.repeat + 1):
                    for size in results:
                        for command, (_, _, total) in zip(COMMANDS, size.rows, strict=True):
                            if total.skipped:
                                continue
                            out.write(f"round {round_}/{args.repeat}, {size.project.revisions} revisions: "
                                      f"{command.label}\n")
                            out.flush()
                            total.absorb(command.measure(server, size.project, 1))
                if rehearse:
                    rehearsed = rehearsal.accuracy(server, root / "rehearse", args.seed, args.rehearse_rows,
                                                   say=lambda line: (out.write(line), out.flush()))
        except measure.BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    goals = targets(results, starts, rehearsed)
    print_table(out, results, starts, f"PostgreSQL {info['version']} ({info['backend']})", args.repeat, goals,
                rehearsed)
    write_json(Path(args.json), results, starts, info, args.repeat, goals, rehearsed)
    out.write(f"\nresults written to {args.json}\n")
    missed = [g.name for g in goals if g.met is False]
    return 1 if args.check_targets and missed else 0
