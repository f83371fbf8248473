"""`python -m checks verify`: run the checklist on a project against a throwaway server."""

from __future__ import annotations

import sys
from pathlib import Path

from checks.commands.project_args import add_project_arguments, open_project
from checks.progress import Progress
from checks.report.console import print_stage
from checks.report.json_report import Outcome, build_report, forget_report, write_report
from checks.result import Status
from checks.run import Run
from checks.stages import STAGES
from checks.verify import run_stages, validate_stage_names
from harness.select import BACKENDS, open_server

HELP = "run the checklist stages"


def add_arguments(parser) -> None:
    add_project_arguments(parser)
    parser.add_argument("--stage", action="append", metavar="NAME",
                        help=f"run only this stage (repeatable): {', '.join(STAGES)}")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="where the server comes from (default: auto)")
    parser.add_argument("--url", help="an existing server to create throwaway databases on")
    parser.add_argument("--pg", type=int, metavar="MAJOR", help="PostgreSQL major version")
    parser.add_argument("--metadata", metavar="MODULE:ATTR", help="the models' MetaData, if not env.py's")
    parser.add_argument("--report-json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--strict", action="store_true", help="lint warnings fail the run")
    parser.add_argument("-v", "--verbose", action="store_true", help="list findings of passing stages "
                        "too, and show the project's own output (env.py logging) on stderr")
    parser.add_argument("--quiet-progress", action="store_true", help="no progress lines")


def run(args) -> int:
    report_path = Path(args.report_json) if args.report_json else None
    if report_path is not None:
        forget_report(report_path)  # a run that ends early must not leave the last run's verdict
    outcome = Outcome(project=str(Path(args.project).resolve()))
    try:
        return _verify(args, outcome)
    except BaseException as exc:
        outcome.error = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        raise
    finally:
        if report_path is not None:
            write_report(report_path, build_report(outcome.project, outcome.backend, outcome.version,
                                                   outcome.results, outcome.server, error=outcome.error))


def _verify(args, outcome: Outcome) -> int:
    out = sys.stdout
    stages = validate_stage_names(args.stage or [])
    project = open_project(args, metadata_override=args.metadata)
    outcome.project = str(project.root)
    if args.verbose:
        project.env.output.echo = sys.stderr
    with open_server(args.backend, args.pg, args.url) as server:
        outcome.backend, outcome.version, outcome.server = server.backend, server.version, server.describe()
        out.write(f"alembic-verify: {project.root}\n"
                  f"  server: PostgreSQL {server.version}, backend {server.backend}: {server.describe()}\n")
        out.flush()
        verification = Run(project, server, Progress(enabled=not args.quiet_progress),
                           strict=args.strict)
        outcome.results = run_stages(verification, stages,
                                     on_result=lambda r: print_stage(r, out, args.verbose))
    results = outcome.results
    notice = project.env.output.notice()
    if notice:
        out.write(notice)
    if verification.usage_errors:
        # Same contract as an error before any stage ran: one line, exit 2.
        outcome.error = str(verification.usage_errors[0])
        raise verification.usage_errors[0]
    failed = [r.name for r in results if r.status in (Status.FAIL, Status.ERROR)]
    warned = [r.name for r in results if r.status is Status.WARN]
    if failed:
        out.write(f"FAILED: {', '.join(failed)}\n")
        return 1
    out.write("OK" + (f" with warnings in {', '.join(warned)}" if warned else "") + "\n")
    return 0
