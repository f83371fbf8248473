"""Where in a revision file a finding points: the line a reader (or a pull request) opens.

Findings name a revision; CI annotations and editors need a file and a line. The line is
the most precise one known: the `op.xxx(...)` call that ran (read from the call stack
while it ran), the frame of a traceback in the file, else the statement a stage is about
(`def downgrade`, `down_revision = ...`), found by parsing the file.
"""

from __future__ import annotations

import ast
import contextlib
import os
from functools import lru_cache
from pathlib import Path

from checks.textfile import python_source


def _same(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


@lru_cache(maxsize=512)
def _tree(path: str, mtime: float) -> ast.Module | None:
    try:
        return ast.parse(python_source(path), path)
    except (OSError, SyntaxError, ValueError):
        return None


def _parsed(path: str) -> ast.Module | None:
    try:
        return _tree(path, os.stat(path).st_mtime)
    except OSError:
        return None


def def_line(path: str, function: str) -> int | None:
    """The `def upgrade():` line (its first decorator, if any, is not the one people read)."""
    tree = _parsed(path)
    for node in tree.body if tree else ():
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function:
            return node.lineno
    return None


def assignment_line(path: str, name: str) -> int | None:
    """The line of the module-level `name = ...` (or `name: type = ...`)."""
    tree = _parsed(path)
    for node in tree.body if tree else ():
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                 for t in node.targets):
            return node.lineno
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            return node.lineno
    return None


def docstring_line(path: str) -> int | None:
    tree = _parsed(path)
    if tree and tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(
            getattr(tree.body[0], "value", None), ast.Constant) and isinstance(tree.body[0].value.value, str):
        return tree.body[0].lineno
    return 1 if tree else None


def traceback_frames(exc: BaseException) -> list[list[tuple[str, int]]]:
    """(file, line) of each frame of the exception's traceback, outermost first; then the
    same for the exception it was raised while handling, and so on. An exception from the
    project's process (`checks.project.remote.RemoteError`) carries them as data."""
    remote = getattr(exc, "remote_frames", None)
    if remote is not None:
        return remote
    chain: list[list[tuple[str, int]]] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        frames, tb = [], exc.__traceback__
        while tb is not None:
            frames.append((tb.tb_frame.f_code.co_filename, tb.tb_lineno))
            tb = tb.tb_next
        chain.append(frames)
        exc = exc.__context__
    return chain


def traceback_line(exc: BaseException, path: str) -> int | None:
    """The innermost frame of the exception's traceback that is in `path`: the failing line."""
    for frames in traceback_frames(exc):
        line = None
        for file, lineno in frames:
            if _same(file, path):
                line = lineno
        if line is not None:
            return line
    return None


def frame_line(frame, path: str) -> int | None:
    """The line `path` is at in a running thread's stack (`frame`, its innermost frame)."""
    return line_in(_sites(frame, 200), path)


def _sites(frame, depth: int) -> tuple[tuple[str, int], ...]:
    sites = []
    while frame is not None and len(sites) < depth:
        sites.append((frame.f_code.co_filename, frame.f_lineno))
        frame = frame.f_back
    return tuple(sites)


def line_in(sites: tuple[tuple[str, int], ...], path: str) -> int | None:
    """The innermost call site in `path`: the `op.xxx(...)` line, or the line calling the
    project's own function that called op."""
    return next((line for file, line in sites if _same(file, path)), None)


def place(findings, root: str | Path, path_of) -> None:
    """Give every finding about a revision a file and a line, the most precise known: what
    the stage set, else the revision's `def upgrade` line. `path_of(revision)` is the
    revision's file or None. Files inside the project are made relative to its root, as
    pull requests and editors show them."""
    for finding in findings:
        if finding.file is None and finding.revision:
            finding.file = path_of(finding.revision)
        if finding.file is None:
            continue
        if finding.line is None:
            finding.line = def_line(finding.file, "upgrade") or 1
        with contextlib.suppress(ValueError):
            finding.file = Path(finding.file).resolve().relative_to(Path(root).resolve()).as_posix()
