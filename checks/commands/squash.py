"""`python -m checks squash --to REV`: one base revision in place of REV and its ancestors.

The history up to REV is built on a throwaway server and read back by pg_dump; the base's
upgrade() runs those statements, so it builds exactly that schema. It keeps REV's id:
databases at REV or later need nothing. The old files are moved aside, never deleted.
"""

from __future__ import annotations

import sys
from pathlib import Path

from checks.commands.project_args import add_project_arguments, open_project
from checks.progress import Progress
from checks.recovery.safety import Consent, confirm, require_consent_possible
from checks.squash import files
from checks.squash.build import squash_statements
from checks.squash.plan import plan
from checks.squash.writer import render
from harness.select import BACKENDS, open_server


def add_arguments(parser) -> None:
    parser.add_argument("--to", required=True, metavar="REV",
                        help="the revision the base replaces, with all its ancestors (an id or a unique "
                             "prefix)")
    parser.add_argument("--archive", metavar="DIR", help="where the old revision files move (default: "
                        f"{files.DEFAULT_PARENT}/REV in the scripts folder, beside the versions folder)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_project_arguments(parser)
    parser.add_argument("--backend", default="auto", choices=BACKENDS,
                        help="where the throwaway server that builds the history comes from")
    parser.add_argument("--url", help="an existing server to create a throwaway database on")
    parser.add_argument("--pg", type=int, metavar="MAJOR", help="PostgreSQL major version")


def run(args) -> int:
    out = sys.stdout
    project = open_project(args)
    chosen = plan(project.upgrade_order(), args.to)
    script_dir = Path(project.script.dir)
    locations = [Path(location).resolve() for location in project.script._version_locations]
    archive = files.archive_folder(script_dir, locations, chosen, args.archive)
    consent = Consent(yes=args.yes)
    what = f"replace {len(chosen.squashed)} revision files with one base revision {chosen.point.revision}"
    require_consent_possible(consent, "squash", what)
    with open_server(args.backend, args.pg, args.url) as server:
        statements = squash_statements(project, server, chosen, Progress())
        major = server.major
    base = Path(chosen.point.path)
    text = render(chosen.point.revision, chosen.point.branch_labels, statements, len(chosen.squashed),
                  _shown(archive, project.root), major)
    out.write(f"squash: {len(chosen.squashed)} revisions up to {chosen.point.revision} build "
              f"{len(statements.create)} statements of schema; the base revision goes to "
              f"{_shown(base, project.root)}, the old files to {_shown(archive, project.root)}\n")
    if statements.rows:
        seeded = ", ".join(f"{table.removeprefix('public.')} ({count})"
                           for table, count in sorted(statements.rows.items()))
        out.write(f"squash: warning: the history leaves rows in {seeded}; the base builds the schema only: "
                  "add the rows new databases need to its upgrade() (op.bulk_insert) after it is written\n")
    confirm(consent, "squash", what)
    moved = files.move(chosen, archive)
    base.write_text(text, encoding="utf-8")
    out.write(f"squash: wrote {_shown(base, project.root)} and moved {len(moved)} files to "
              f"{_shown(archive, project.root)}\n"
              "squash: prove it builds the same schema: python -m checks verify --squash-check HEAD "
              "(once the squash is committed: --squash-check HEAD~1)\n"
              f"squash: to commit (from {project.root}):\n")
    commands = files.git_lines(moved, base, project.root)
    relock = files.relock_line(script_dir, chosen)
    for line in ([relock] if relock else []) + commands:
        out.write(f"  {line}\n")
    return 0


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
