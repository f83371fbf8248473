"""What a revision does, as a checksum: its syntax tree, not its bytes.

A comment, a docstring or a reformat changes no database, so it must not read as an edit of
a released revision; a changed argument, statement or import does. The tree is written out
node by node with only what carries meaning (no positions, no comments, no docstrings, no
empty or unset fields), so the same code gives the same text on every Python the suite runs
on, whatever a newer `ast` adds.
"""

from __future__ import annotations

import ast
import hashlib

PARTS = ("upgrade", "downgrade", "module")
_SKIPPED_FIELDS = {"ctx", "type_comment", "kind"}


def part_digests(source: bytes) -> dict[str, str] | None:
    """sha256 of `upgrade()`, `downgrade()` and the module-level code; None if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    parts: dict[str, list[str]] = {part: [] for part in PARTS}
    for statement in _without_docstring(tree.body):
        name = getattr(statement, "name", None)
        is_function = isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef)
        part = name if is_function and name in ("upgrade", "downgrade") else "module"
        parts[part].append(_shape(statement))
    return {part: hashlib.sha256("\n".join(lines).encode()).hexdigest() for part, lines in parts.items()}


def _without_docstring(body: list[ast.stmt]) -> list[ast.stmt]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        return body[1:]
    return body


def _shape(node) -> str:
    if isinstance(node, ast.AST):
        fields = []
        for name, value in ast.iter_fields(node):
            if name in _SKIPPED_FIELDS or value is None or value == []:
                continue
            if name == "body" and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                value = _without_docstring(value)
            fields.append(f"{name}={_shape(value)}")
        return f"{type(node).__name__}({','.join(fields)})"
    if isinstance(node, list):
        return "[" + ",".join(_shape(item) for item in node) + "]"
    return repr(node)
