"""`python -m checks lock`: record the checksum of every revision's code in the lock file.

Run it when revisions are released (merged, deployed); from then on the files stage fails
if one of them is edited. Needs no database.
"""

from __future__ import annotations

import sys
from pathlib import Path

from checks.commands.project_args import add_project_arguments, open_project
from checks.errors import ConfigError
from checks.lockfile import changed_parts, entry_for, lock_path, read_lock, write_lock


def add_arguments(parser) -> None:
    add_project_arguments(parser)
    parser.add_argument("--relock", action="append", default=[], metavar="REV",
                        help="accept a deliberate edit of this locked revision (repeatable)")


def run(args) -> int:
    out = sys.stdout
    project = open_project(args)
    order = project.upgrade_order()
    path = lock_path(project.script.dir)
    locked = read_lock(path)
    ids = {r.revision for r in order}
    unknown = [r for r in args.relock if r not in locked]
    if unknown:
        raise ConfigError(f"--relock {', '.join(unknown)}: not in {path}; locked revisions: "
                          f"{', '.join(locked) or '(none)'}")
    entries = [entry_for(r.revision, r.path, path.parent) for r in order]
    files = {r.revision: Path(r.path) for r in order}
    # An entry of the old bytes' form whose file is unchanged is rewritten in the code form.
    changed = [e for e in entries if e.revision in locked and e.revision not in args.relock
               and changed_parts(locked[e.revision], files[e.revision]) is not None]
    if changed:
        out.write(f"not written: {len(changed)} locked revision(s) changed since they were locked:\n")
        for entry in changed:
            out.write(f"  {entry.revision}  {entry.file}\n")
        out.write("revert the edits and put them in new revisions, or accept them with "
                  + " ".join(f"--relock {e.revision}" for e in changed) + "\n")
        return 1
    added = [e.revision for e in entries if e.revision not in locked]
    forgotten = [r for r in locked if r not in ids]
    write_lock(path, entries)
    out.write(f"locked {len(entries)} revision(s) in {path}\n")
    if added:
        out.write(f"  new: {', '.join(added)}\n")
    if args.relock:
        out.write(f"  relocked: {', '.join(args.relock)}\n")
    if forgotten:
        out.write(f"  forgotten (no file declares them any more; squashed?): {', '.join(forgotten)}\n")
    return 0
