"""The revision files, read as source (parsed, never imported).

What they say of themselves (ids, parents, labels, which functions they define) is read
from the text, so that it is known even where Alembic would silently drop a file or fail
to import it, and without running any of the project's code.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from alembic.script import ScriptDirectory

from checks.project.source_lines import assignment_line
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
_REVISION_LINE = re.compile(r"""^revision\b[^=\n]*=\s*['"]?([\w-]+)['"]?\s*(?:#.*)?$""", re.MULTILINE)


def _revision_line(path: Path) -> str | None:
    """The id a file that does not parse declares on its own line, so the files whose
    down_revision names it are not also reported as pointing at nothing."""
    try:
        found = _REVISION_LINE.search(path.read_bytes().decode("utf-8", "replace"))
    except OSError:
        return None
    return found.group(1) if found else None


def revision_files(script: ScriptDirectory) -> Iterator[RevisionFile]:
    """Every file Alembic reads as a revision in the script's version locations, parsed
    one at a time (a reader that stops early parses no more)."""
    # Alembic < 1.10 never looks below a version folder.
    pattern = "**/*.py" if getattr(script, "recursive_version_locations", False) else "*.py"
    for location in script._version_locations:
        for path in sorted(Path(location).glob(pattern)):
            if not path.name.startswith("_"):
                yield parse_revision_file(path)


def uncovered_folders(script: ScriptDirectory) -> dict[Path, int]:
    """Folders under the scripts folder that hold revision files (a module-level
    `revision = ...`) no version location covers, with how many each holds: files Alembic
    never reads, however many revisions they add."""
    recursive = getattr(script, "recursive_version_locations", False)
    locations = {Path(location).resolve() for location in script._version_locations}
    found: dict[Path, int] = {}
    for folder, subfolders, names in os.walk(script.dir):
        here = Path(folder).resolve()
        subfolders[:] = sorted(name for name in subfolders if not name.startswith((".", "_"))
                               and not (recursive and here in locations))
        if here in locations or (recursive and not locations.isdisjoint(here.parents)):
            continue
        count = sum(1 for name in names if name.endswith(".py") and not name.startswith("_")
                    and assignment_line(str(here / name), "revision") is not None)
        if count:
            found[here] = count
    return found
