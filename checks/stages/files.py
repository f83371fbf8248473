"""files: the revision files themselves, read without a database.

Each file is parsed (not imported) so that problems Alembic papers over are still seen:
two files with one revision id (Alembic silently keeps one), a down_revision naming
nothing, a missing upgrade() or downgrade(), a file Alembic never loads.
"""

from __future__ import annotations

from pathlib import Path

from alembic.util import CommandError

from checks.errors import ProjectError
from checks.lockfile import check_lock
from checks.project import missing
from checks.project.policies import no_downgrades
from checks.project.project import first_line
from checks.project.revision_files import RevisionFile, revision_files, uncovered_folders
from checks.project.source_lines import assignment_line, def_line
from checks.pullrequest.scope import edited_findings
from checks.result import Finding, Severity
from checks.run import Run


def check(run: Run) -> list[Finding]:
    """A duplicated revision id silently drops one migration from every fresh database;
    a dangling down_revision or a missing downgrade() breaks deploys and rollbacks."""
    files = list(revision_files(run.project.script))
    findings: list[Finding] = []
    by_id: dict[str, list[RevisionFile]] = {}
    for info in files:
        if info.syntax_error:
            findings.append(Finding(Severity.ERROR, "unparsable-revision",
                                    f"{info.path.name} does not parse: {info.syntax_error}",
                                    object=str(info.path), hint="fix the file's Python syntax",
                                    file=str(info.path), line=info.syntax_line or 1))
            continue
        if info.revision is None:
            if "upgrade" in info.functions:
                findings.append(Finding(
                    Severity.ERROR, "revision-not-loaded",
                    f"{info.path.name} defines upgrade() but no revision id, so Alembic never runs it",
                    object=str(info.path), hint="add revision = '<id>' and down_revision to the file",
                    file=str(info.path), line=def_line(str(info.path), "upgrade")))
            continue
        by_id.setdefault(info.revision, []).append(info)
    for revision, infos in by_id.items():
        if len(infos) > 1:
            names = ", ".join(i.path.name for i in infos)
            findings.append(Finding(
                Severity.ERROR, "duplicate-revision",
                f"revision id {revision} is declared by {len(infos)} files ({names}); "
                "Alembic keeps only one of them", revision=revision, object=names,
                file=str(infos[-1].path), line=assignment_line(str(infos[-1].path), "revision"),
                hint="give each file its own id (alembic revision generates one) and fix the "
                     "down_revision of the files that follow"))
    labels = {label for infos in by_id.values() for label in infos[0].branch_labels}
    script, settings = run.project.script, run.project.settings
    required = ("upgrade",) if no_downgrades(settings, script, files) else ("upgrade", "downgrade")
    unparsable = {info.revision for info in files if info.syntax_error}
    for revision, infos in by_id.items():
        info = infos[0]
        for parent in info.down_revisions:
            if parent not in by_id and parent not in unparsable:
                findings.append(Finding(
                    Severity.ERROR, "missing-down-revision",
                    f"{info.path.name}: down_revision {parent} names no revision file",
                    revision=revision, object=parent, file=str(info.path),
                    line=assignment_line(str(info.path), "down_revision"),
                    hint="restore the missing file, or point down_revision at an existing revision"))
        for needed in info.depends_on:
            if not _names_a_revision(needed, by_id, labels):
                findings.append(Finding(
                    Severity.ERROR, "missing-dependency",
                    f"{info.path.name}: depends_on {needed} names no revision file",
                    revision=revision, object=needed, file=str(info.path),
                    line=assignment_line(str(info.path), "depends_on"),
                    hint="fix or remove the depends_on entry"))
        for function in required:
            if function not in info.functions:
                findings.append(Finding(
                    Severity.ERROR, f"missing-{function}",
                    f"{info.path.name} defines no {function}() function", revision=revision,
                    object=f"{info.path.name}:{function}", file=str(info.path),
                    line=assignment_line(str(info.path), "revision"), hint=_MISSING[function]))
    if not findings:
        findings += _load_check(run)
    findings += _uncovered(run)
    findings += check_lock(run.project.script.dir, files)
    locked = {f.revision for f in findings if f.code == "locked-revision-changed"}
    findings += edited_findings(run.scope, locked)
    return findings


_MISSING = {
    "upgrade": "add def upgrade() -> None: with the operations that apply this revision",
    "downgrade": "add def downgrade() -> None: with the operations that undo this revision (or one that "
                 "raises NotImplementedError, if it cannot be undone); a project that writes no "
                 "downgrades says so with downgrades = false in the suite's settings",
}


def _uncovered(run: Run) -> list[Finding]:
    """Revision files in folders Alembic is not told to read: their revisions never run."""
    folders = uncovered_folders(run.project.script)
    if not folders:
        return []
    root = run.project.root
    where = [_relative(folder, root) for folder in folders]
    read = [_relative(Path(location).resolve(), root) for location in run.project.script._version_locations]
    counts = ", ".join(f"{count} in {folder}" for folder, count in zip(where, folders.values(), strict=True))
    wanted = ", ".join(f'"{folder}"' for folder in [*read, *where])
    return [Finding(
        Severity.WARNING, "revisions-not-read",
        f"revision files Alembic never reads ({counts}): no version location covers them (it reads "
        f"{', '.join(read)})", object=", ".join(where),
        hint=f"set version_locations = [{wanted}] in the suite's settings if a wrapper adds them at run "
             "time; else list them in alembic.ini's version_locations (or, for subfolders, set "
             "recursive_version_locations = true there), or delete them")]


def _relative(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _names_a_revision(name: str, by_id: dict, labels: set[str]) -> bool:
    """What Alembic resolves a depends_on entry to: a revision id or a branch label (not
    the start of an id, which it answers with a KeyError)."""
    return name in by_id or name in labels


def _load_check(run: Run) -> list[Finding]:
    """Alembic itself must be able to load and order the whole history (cycles, imports)."""
    try:
        with run.project.env.active():
            ordered = run.project.load_revisions()
    except ProjectError:
        raise  # the context itself could not be set up: the settings' fault, said as such
    except CommandError as exc:
        return [Finding(Severity.ERROR, "history-unloadable", f"Alembic cannot order the history: {exc}",
                        hint="fix the down_revision chain it names")]
    except Exception as exc:  # noqa: BLE001 - a revision module raised on import
        project = run.project
        # A revision importing the app pulls in its logging config and dependencies: say
        # what is missing rather than what broke because of it.
        explained = missing.explain(exc, project)
        where = missing.project_frame(exc, project.root)
        message = explained or (f"Alembic cannot load the revisions: {type(exc).__name__}: "
                                f"{first_line(exc)}" + (f" ({where})" if where else ""))
        return [Finding(Severity.ERROR, "history-unloadable", message, object=where,
                        hint=None if explained else
                        f"import {where.split(' line ')[0] if where else 'the revision files'} by hand "
                        "(python -c 'import ...') to see the error")]
    if ordered:
        return []
    folders = ", ".join(str(p) for p in run.project.script._version_locations)
    # Not a failure: a new project has none yet, and drift reports any models without one.
    return [Finding(Severity.INFO, "no-revisions",
                    f"the history has no revisions (looked in {folders}): nothing to verify yet",
                    object=folders, hint="create the first one: alembic revision --autogenerate "
                                         "-m 'initial schema', or fix script_location in alembic.ini")]
