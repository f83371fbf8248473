"""Revision files whose import does migration work.

Alembic imports a revision file inside the migration context, once per `alembic` command,
so module-level code may call `op.get_bind()` or `op.execute()` (creating an enum type that
way, guarded by `except NameError` for the commands that import it without a context). A
run that loaded the history beforehand, and walks several steps in one command, would skip
that work or do it once for many steps. For those files, each step imports the file again
inside its own context, as the command that runs it alone would.
"""

from __future__ import annotations

import ast
from pathlib import Path

_CONTEXT_NAMES = {"op", "context"}


def binds_on_import(path: str) -> bool:
    """Whether module-level code (outside any function or class) calls `op.*` or `context.*`
    other than context.config, which every env.py-less import may read."""
    try:
        source = Path(path).read_bytes()
    except OSError:
        return False
    if not _might_bind(source.decode("utf-8", "replace")):
        return False
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    for statement in tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import,
                                  ast.ImportFrom)):
            continue
        for node in ast.walk(statement):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in _CONTEXT_NAMES):
                return True
    return False


def _might_bind(text: str) -> bool:
    """A quick look by lines, so that only the rare candidate is parsed: whether `op.` or
    `context.` appears on a line outside every top-level def and class."""
    inside = False
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            inside = line.startswith(("def ", "async def ", "class ", "@"))
        if not inside and ("op." in line or "context." in line):
            return True
    return False


def imported_in_step(path: str, upgrade: bool, function):
    """`function` (the revision's upgrade or downgrade), run from a fresh import of its file
    made inside the step, where `op` and `context` answer."""
    from alembic.util import load_python_file

    def run(**kwargs):
        file = Path(path)
        module = load_python_file(str(file.parent), file.name)
        fresh = getattr(module, "upgrade" if upgrade else "downgrade", None)
        return (fresh or function)(**kwargs)  # a revision without downgrade() keeps its one-way step

    run.__name__ = function.__name__  # Alembic names the step after it
    return run
