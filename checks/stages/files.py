"""files: the revision files themselves, read without a database.

Each file is parsed (not imported) so that problems Alembic papers over are still seen:
two files with one revision id (Alembic silently keeps one), a down_revision naming
nothing, a missing upgrade() or downgrade(), a file Alembic never loads.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from alembic.util import CommandError

from checks.lockfile import check_lock
from checks.project import missing
from checks.project.project import first_line
from checks.project.source_lines import assignment_line, def_line
from checks.pullrequest.scope import edited_findings
from checks.result import Finding, Severity
from checks.run import Run
from checks.textfile import python_source


@dataclass
class RevisionFile:
    path: Path
    revision: str | None = None
    down_revisions: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    branch_labels: tuple[str, ...] = ()
    functions: set[str] = field(default_factory=set)
    syntax_error: str | None = None
    syntax_line: int | None = None


def _names(node: ast.expr | None) -> tuple[str, ...]:
    if node is None:
        return ()
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return ()
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(v for v in value if isinstance(v, str))


def parse_revision_file(path: Path) -> RevisionFile:
    info = RevisionFile(path)
    try:
        tree = ast.parse(python_source(path), str(path))
    except (SyntaxError, ValueError, OSError) as exc:  # ValueError: a NUL byte or bad encoding
        info.syntax_error = f"{type(exc).__name__}: {exc}"
        info.syntax_line = getattr(exc, "lineno", None)
        info.revision = _revision_line(path)
        return info
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            info.functions.add(node.name)
        targets: list[tuple[str, ast.expr | None]] = []
        if isinstance(node, ast.Assign):
            targets = [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            targets = [(node.target.id, node.value)]
        for name, value in targets:
            if name == "revision":
                found = _names(value)
                info.revision = found[0] if found else None
            elif name == "down_revision":
                info.down_revisions = _names(value)
            elif name == "depends_on":
                info.depends_on = _names(value)
            elif name == "branch_labels":
                info.branch_labels = _names(value)
    return info


# `revision = "0002"` (a type annotation, other quotes or none left by a broken edit allowed).
_REVISION_LINE = re.compile(r"""^revision\b[^=\n]*=\s*['"]?([\w-]+)""", re.MULTILINE)


def _revision_line(path: Path) -> str | None:
    """The id a file that does not parse declares on its own line, so the files whose
    down_revision names it are not also reported as pointing at nothing."""
    try:
        found = _REVISION_LINE.search(path.read_bytes().decode("utf-8", "replace"))
    except OSError:
        return None
    return found.group(1) if found else None


def revision_files(run: Run) -> list[RevisionFile]:
    script = run.project.script
    # Alembic < 1.10 never looks below a version folder.
    recursive = getattr(script, "recursive_version_locations", False)
    found: list[RevisionFile] = []
    for location in script._version_locations:
        folder = Path(location)
        pattern = "**/*.py" if recursive else "*.py"
        for path in sorted(folder.glob(pattern)):
            if not path.name.startswith("_"):
                found.append(parse_revision_file(path))
    return found


def check(run: Run) -> list[Finding]:
    """A duplicated revision id silently drops one migration from every fresh database;
    a dangling down_revision or a missing downgrade() breaks deploys and rollbacks."""
    files = revision_files(run)
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
        for function in ("upgrade", "downgrade"):
            if function not in info.functions:
                findings.append(Finding(
                    Severity.ERROR, f"missing-{function}",
                    f"{info.path.name} defines no {function}() function", revision=revision,
                    object=f"{info.path.name}:{function}", file=str(info.path),
                    line=assignment_line(str(info.path), "revision"),
                    hint=f"add def {function}() -> None: with the operations that "
                         f"{'apply' if function == 'upgrade' else 'undo'} this revision"))
    if not findings:
        findings += _load_check(run)
    findings += check_lock(run.project.script.dir, files)
    locked = {f.revision for f in findings if f.code == "locked-revision-changed"}
    findings += edited_findings(run.scope, locked)
    return findings


def _names_a_revision(name: str, by_id: dict, labels: set[str]) -> bool:
    """What Alembic resolves a depends_on entry to: a revision id or a branch label (not
    the start of an id, which it answers with a KeyError)."""
    return name in by_id or name in labels


def _load_check(run: Run) -> list[Finding]:
    """Alembic itself must be able to load and order the whole history (cycles, imports)."""
    try:
        with run.project.env.active():
            ordered = list(run.project.script.walk_revisions("base", "heads"))
    except CommandError as exc:
        return [Finding(Severity.ERROR, "history-unloadable", f"Alembic cannot order the history: {exc}",
                        hint="fix the down_revision chain it names")]
    except Exception as exc:  # noqa: BLE001 - a revision module raised on import
        project = run.project
        # A revision importing the app pulls in its logging config and dependencies: say
        # what is missing rather than what broke because of it.
        explained = missing.explain(exc, project.root, project.ini_path, project.env.paths)
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
