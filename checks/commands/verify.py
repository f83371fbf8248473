"""`python -m checks verify`: run the checklist on a project against a throwaway server."""

from __future__ import annotations

import sys
from pathlib import Path

from checks.commands.pr_args import add_pull_request_arguments, open_scope, pull_request_options
from checks.commands.project_args import add_project_arguments, open_project
from checks.commands.rolling_args import add_rolling_arguments, with_rolling
from checks.errors import ConfigError
from checks.progress import Progress
from checks.project.limits import Limits
from checks.report.console import print_scope, print_stage
from checks.report.github import in_actions, report_github
from checks.report.json_report import Outcome, build_report, forget_report, write_report
from checks.result import Status
from checks.run import Run
from checks.squash.options import OPTION as SQUASH_CHECK
from checks.squash.options import add_squash_arguments, with_squash_stage
from checks.stages import FILES_ONLY, STAGES, needs_server
from checks.verify import run_stages, validate_stage_names
from harness.select import BACKENDS, NO_SERVER, open_server


def add_arguments(parser) -> None:
    add_project_arguments(parser)
    parser.add_argument("--stage", action="append", metavar="NAME",
                        help=f"run only this stage (repeatable): {', '.join(STAGES)}")
    parser.add_argument("--backend", default="auto", choices=(*BACKENDS, NO_SERVER),
                        help=f"where the server comes from (default: auto; {NO_SERVER}: start nothing, "
                             f"which auto does when only {', '.join(FILES_ONLY)} run)")
    parser.add_argument("--url", help="an existing server to create throwaway databases on")
    parser.add_argument("--pg", type=int, metavar="MAJOR", help="PostgreSQL major version")
    parser.add_argument("--metadata", metavar="MODULE:ATTR", help="the models' MetaData, if not env.py's")
    parser.add_argument("--report-json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--report-junit", metavar="FILE", help="also write JUnit XML: a test case per "
                        "stage per revision, for CI test views")
    parser.add_argument("--report-html", metavar="FILE", help="also write one self-contained HTML page: "
                        "revision graph, stages, drift, timings")
    parser.add_argument("--strict", action="store_true", help="lint warnings fail the run")
    parser.add_argument("--lint-all", action="store_true", help="lint the revisions in revisions.lock "
                        "(released) too; by default lint reads only the new ones")
    parser.add_argument("-v", "--verbose", action="store_true", help="list findings of passing stages "
                        "too, and show the project's own output (env.py logging) on stderr")
    parser.add_argument("--quiet-progress", action="store_true", help="no progress lines")
    parser.add_argument("--revision-timeout", type=float, metavar="SECONDS", help="end a revision that "
                        "runs longer, naming what it waits for (default: revision_timeout, 300; 0: none)")
    parser.add_argument("--run-timeout", type=float, metavar="SECONDS", help="end the run after this long "
                        "(default: run_timeout, 0: none)")
    parser.add_argument("--volumes", metavar="FILE", help="rows per table for the rehearse stage, as "
                        "`doctor --volumes-out` writes them (default: setting volumes_file)")
    add_pull_request_arguments(parser)
    add_rolling_arguments(parser)
    add_squash_arguments(parser)


def run(args) -> int:
    paths = {kind: Path(value) for kind, value in (("JSON", args.report_json), ("JUnit", args.report_junit),
                                                   ("HTML", args.report_html)) if value}
    for kind, path in paths.items():
        forget_report(path, kind)  # a run that ends early must not leave the last run's verdict
    outcome = Outcome(project=str(Path(args.project).resolve()))
    try:
        return _verify(args, outcome)
    except BaseException as exc:
        outcome.error = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        raise
    finally:
        _write_reports(paths, outcome)


def _write_reports(paths: dict[str, Path], outcome: Outcome) -> None:
    """Every report is written however the run ended; one that cannot be written does not
    keep the others from being written."""
    writers = []
    if "JSON" in paths:
        writers.append(lambda: write_report(paths["JSON"], build_report(
            outcome.project, outcome.backend, outcome.version, outcome.results, outcome.server,
            error=outcome.error, scope=outcome.scope.to_json() if outcome.scope else None)))
    if "JUnit" in paths:
        from checks.report.junit import write_junit

        # A pull-request run judged only the new revisions: the base gets no passing cases.
        judged = [n.id for n in outcome.graph if outcome.scope is None or n.id not in outcome.scope.base]
        writers.append(lambda: write_junit(paths["JUnit"], outcome.results, judged, outcome.error,
                                           outcome.project))
    if "HTML" in paths:
        from checks.report.html import write_html

        writers.append(lambda: write_html(paths["HTML"], outcome.results, outcome.graph, outcome.project,
                                          outcome.server, outcome.error))
    if in_actions():
        writers.append(lambda: report_github(outcome.results, outcome.project, outcome.error, sys.stdout))
    failure = None
    for write in writers:
        try:
            write()
        except ConfigError as exc:
            failure = failure or exc
    if failure is not None:
        raise failure


def _backend(args, stages: list[str]) -> str:
    """No server when none is needed and none was asked for."""
    if args.backend == NO_SERVER and needs_server(stages):
        wanted = ", ".join(s for s in stages if s not in FILES_ONLY)
        raise ConfigError(f"--backend {NO_SERVER} starts no server, and {wanted} need(s) one; "
                          f"run only {', '.join(FILES_ONLY)} (--stage NAME), or choose another backend")
    if args.backend == "auto" and not args.url and args.pg is None and not needs_server(stages):
        return NO_SERVER
    return args.backend


def _resolve_commits(args, project) -> None:
    """Every git ref the options name resolves now: a typo fails in a second, before a
    server starts, not once the stages before the one that reads it have run."""
    if not (args.git_base or args.previous_release or args.squash_check):
        return
    from checks.pullrequest.oldtree import resolve
    from checks.rolling.release import OPTION as PREVIOUS_RELEASE

    for option, reference, merge in (
            ("--git-base", args.git_base, True),  # the merge base: what the scope and rolling read
            (PREVIOUS_RELEASE, args.previous_release, False),
            (SQUASH_CHECK, args.squash_check, False)):
        if reference:
            resolve(project.root, reference, option, merge)


def _verify(args, outcome: Outcome) -> int:
    out = sys.stdout
    stages = validate_stage_names(args.stage or [])
    project = open_project(args, metadata_override=args.metadata)
    if not args.stage and project.settings.stages:
        stages = validate_stage_names(project.settings.stages, f"{project.settings.source}: stages: ")
    stages = with_squash_stage(args, stages)
    outcome.project = str(project.root)
    stages = with_rolling(args, stages, chosen=bool(args.stage or project.settings.stages))
    if args.volumes:
        project.settings.volumes_file = str(Path(args.volumes).resolve())
    pull_request = pull_request_options(args, project, stages)
    _resolve_commits(args, project)
    if args.verbose:
        project.env.output.echo = sys.stderr
    progress = Progress(enabled=not args.quiet_progress)
    project.limits = Limits.configure(project.settings, args.revision_timeout, args.run_timeout,
                                      say=progress.note)
    with open_server(_backend(args, stages), args.pg, args.url) as server:
        outcome.backend, outcome.version, outcome.server = server.backend, server.version, server.describe()
        shown = server.describe() if server.backend == NO_SERVER else \
            f"PostgreSQL {server.version}, backend {server.backend}: {server.describe()}"
        out.write(f"alembic-preflight: {project.root}\n  server: {shown}\n")
        if project.process is not None:
            out.write(f"  python: {project.process.describe()}\n")
        out.flush()
        verification = Run(project, server, progress, strict=args.strict, lint_all=args.lint_all)
        verification.squash_check = args.squash_check
        # The revision files are loaded from here on, with the settings' [env] in place (the
        # run's database named): a revision may read them when it is imported.
        if args.report_junit or args.report_html:  # the only reports that draw the revision graph
            from checks.report.graph import read_graph

            outcome.graph = read_graph(project)
        scope = open_scope(pull_request, project) if pull_request is not None else None
        if scope is not None:
            out.write(f"  pull request: {scope.describe()}\n")
            out.flush()
        verification.scope = outcome.scope = scope
        verification.previous_release, verification.code_first = args.previous_release, args.code_first
        outcome.results = run_stages(verification, stages,
                                     on_result=lambda r: print_stage(r, out, args.verbose))
    results = outcome.results
    if scope is not None:
        print_scope(scope, out)
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
