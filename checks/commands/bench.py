"""`python -m checks bench`: time verify against the floor and pytest-alembic on a long history."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from checks.bench import measure, pr_mode
from checks.bench.project import generate
from checks.bench.report import print_table, targets, write_json
from checks.errors import ConfigError
from harness.select import BACKENDS, open_server

HELP = "time verify against a bare `alembic upgrade head` and pytest-alembic"


def add_arguments(parser) -> None:
    parser.add_argument("--revisions", type=int, default=200, help="revisions to generate (default: 200)")
    parser.add_argument("--tables", type=int, default=60, help="tables they create (default: 60)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is "
                                                              "reported (default: 3)")
    parser.add_argument("--json", default="bench.json", metavar="FILE",
                        help="write the results here (default: bench.json)")
    parser.add_argument("--backend", default="local", choices=BACKENDS,
                        help="the server the timed commands run against (default: local)")
    parser.add_argument("--pg", type=int, metavar="MAJOR", help="PostgreSQL major version")
    parser.add_argument("--url", help="an existing server to create the bench's databases on")
    parser.add_argument("--keep", metavar="DIR", help="generate the project here and keep it")
    parser.add_argument("--seed", type=int, default=7, help="history generator seed (default: 7)")
    parser.add_argument("--check-targets", action="store_true", help="exit 1 when a target is missed")


def run(args) -> int:
    if args.repeat < 1 or args.revisions < 1 or not 1 <= args.tables <= args.revisions:
        raise ConfigError("need --repeat >= 1 and 1 <= --tables <= --revisions")
    out = sys.stdout
    with tempfile.TemporaryDirectory(prefix="alembic-verify-bench-") as tmp:
        root = Path(args.keep) if args.keep else Path(tmp) / "project"
        project = generate(root.resolve(), args.revisions, args.tables, args.seed)
        out.write(f"generated {project.revisions} revisions over {project.tables} tables in {project.root}\n")
        out.write("timing server starts...\n")
        out.flush()
        try:
            starts = measure.server_starts(args.pg, args.repeat)
            with open_server(args.backend, args.pg, args.url) as server:
                described = server.describe()
                info = {"backend": server.backend, "version": server.version, "describe": described}
                timed = (("floor", "floor: alembic upgrade head", measure.floor),
                         ("verify", "verify (every stage)", measure.verify),
                         ("pytest_alembic", "pytest-alembic (4 default tests)", measure.pytest_alembic),
                         # pull-request mode (checks/bench/pr_mode.py): one new revision, warm cache
                         ("pull_request", "verify --since (1 new, warm cache)", pr_mode.pull_request))
                rows = [(key, label, measure.Measurement(label)) for key, label, _ in timed]
                # Round robin, so a busy neighbour on the machine slows every contender alike.
                for round_ in range(1, args.repeat + 1):
                    for (_, label, fn), (_, _, total) in zip(timed, rows, strict=True):
                        out.write(f"round {round_}/{args.repeat}: {label}\n")
                        out.flush()
                        total.absorb(fn(server, project, 1))
        except measure.BenchError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    rows += [(f"start_{m.name.replace(' ', '_')}", f"server start: {m.name}", m) for m in starts]
    goals = targets(rows[0][2], rows[1][2], rows[2][2], starts)
    goals.append(pr_mode.pull_request_target(rows[0][2], rows[3][2]))  # pull-request mode
    print_table(out, project, f"PostgreSQL {info['version']} ({info['backend']})", args.repeat,
                [(label, m) for _, label, m in rows], goals)
    write_json(Path(args.json), project, info, args.repeat, [(key, m) for key, _, m in rows], goals)
    out.write(f"\nresults written to {args.json}\n")
    missed = [g.name for g in goals if g.met is False]
    return 1 if args.check_targets and missed else 0
