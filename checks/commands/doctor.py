"""`python -m checks doctor`: a read-only diagnosis of a real database.

It reads the database (in a read-only session) and builds the history on a throwaway
server; it never writes to the database it diagnoses, and prints the commands that would
repair it rather than running them. Only `--fix` runs the stamp it printed, through the
`stamp` command (local databases only, a backup first, a question unless --yes).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from checks.commands import stamp
from checks.commands.project_args import add_project_arguments, open_project
from checks.doctor import report
from checks.doctor.diagnose import diagnose
from checks.doctor.target import choose_target, connect
from checks.rehearse import volumes
from checks.report.json_report import Outcome, build_report, forget_report, write_report
from harness.select import BACKENDS, open_server


def add_arguments(parser) -> None:
    add_project_arguments(parser)
    parser.add_argument("--url", help="the database to diagnose (default: $DATABASE_URL, else alembic.ini's "
                                      "sqlalchemy.url); only read, never written, unless --fix")
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="where the throwaway server for building the history comes from")
    parser.add_argument("--server-url", help="an existing server for the throwaway databases")
    parser.add_argument("--pg", type=int, metavar="MAJOR", help="PostgreSQL major of the throwaway server")
    parser.add_argument("--metadata", metavar="MODULE:ATTR", help="the models' MetaData, if not env.py's")
    parser.add_argument("--report-json", metavar="FILE", help="also write the diagnosis as JSON")
    parser.add_argument("--fix", action="store_true",
                        help="run the stamp the diagnosis prints for the revision the schema matches best "
                             "(as `stamp`: local databases only, backup first, asks unless --yes)")
    parser.add_argument("--yes", action="store_true", help="with --fix: do not ask for confirmation")
    parser.add_argument("--force", action="store_true", help="with --fix: act on a database that does "
                                                             "not look local")
    parser.add_argument("--backups", default="backups", help="with --fix: folder for the backup taken first")
    parser.add_argument("--volumes-out", metavar="FILE", help="also write the rows per table as the "
                        "database's statistics estimate them (pg_class.reltuples; no row is read), for "
                        "the rehearse stage's --volumes")


def run(args) -> int:
    report_path = Path(args.report_json) if args.report_json else None
    if report_path is not None:
        forget_report(report_path)
    outcome = Outcome(project=str(Path(args.project).resolve()))
    where = {"database": None, "source": None}
    try:
        return _diagnose(args, outcome, where)
    except BaseException as exc:
        outcome.error = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        raise
    finally:
        if report_path is not None:
            base = build_report(outcome.project, outcome.backend, outcome.version, outcome.results,
                                outcome.server, error=outcome.error)
            write_report(report_path, report.doctor_report(base, where["database"], where["source"]))


def _diagnose(args, outcome: Outcome, where: dict) -> int:
    out = sys.stdout
    project = open_project(args, metadata_override=args.metadata)
    outcome.project = str(project.root)
    target = choose_target(args.url, project)
    where["database"], where["source"] = target.describe(), target.source
    access = ("read first; then --fix stamps it with the revision its schema matches (a backup "
              "before, a question unless --yes)") if args.fix else "read-only"
    out.write(f"doctor: {target.place()} (URL from {target.source}), {access}\n")
    out.flush()
    with connect(target) as conn:
        conn.execute("SELECT 1")  # unreachable or refused: say so before starting any server
        if args.volumes_out:
            counts = volumes.reltuples(conn)
            volumes.write(Path(args.volumes_out), counts, target.describe())
            out.write(f"doctor: wrote the estimated rows of {len(counts)} table(s) to {args.volumes_out}\n")
    with open_server(args.backend, args.pg, args.server_url) as server:
        outcome.backend, outcome.version, outcome.server = server.backend, server.version, server.describe()
        sections = diagnose(project, target, server)
    outcome.results = sections
    for section in sections:
        report.print_section(section, out)
    out.write(report.verdict(sections) + "\n")
    if args.fix:
        return _fix(args, sections, target, out)
    return 1 if report.problems(sections) else 0


def _fix(args, sections, target, out) -> int:
    """The stamp the diagnosis printed, through the `stamp` command: its refusals, its backup
    and its question apply (hand-made objects make no match exact, so a close one is stamped
    too; the backup taken first undoes it)."""
    matches = [f for section in sections for f in section.findings if f.code == "schema-matches"]
    if not matches or matches[0].revision is None:
        out.write("doctor --fix: nothing to stamp (the version table is not in question)\n")
        return 1 if report.problems(sections) else 0
    # args.url as given: without it, stamp resolves the same database by the same order.
    stamp_args = argparse.Namespace(**{**vars(args), "revision": matches[0].revision})
    return stamp.run(stamp_args)

