"""Inline suppressions: `# verify: allow CODE[, CODE...] -- reason` anywhere in a revision file.

The reason is required: a suppression without one does not suppress, and says so, so that
every accepted risk in the history carries the sentence that justified it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from checks.lint.settings import Allow, is_known
from checks.textfile import python_source

_COMMENT = re.compile(r"#\s*verify:\s*allow\s+(?P<codes>[\w:-]+(?:\s*,\s*[\w:-]+)*)"
                      r"\s*(?:--\s*(?P<reason>.*?))?\s*$")


@dataclass(frozen=True)
class Problem:
    """A suppression comment that cannot be honoured."""

    line: int
    message: str
    codes: tuple[str, ...]


def inline_allows(path: str, revision: str) -> tuple[list[Allow], list[Problem]]:
    try:
        text = python_source(path)
    except (OSError, SyntaxError, ValueError):
        return [], []
    name = Path(path).name
    allows: list[Allow] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _COMMENT.search(line)
        if not match:
            continue
        codes = tuple(c.strip() for c in match["codes"].split(","))
        unknown = [c for c in codes if not is_known(c)]
        if unknown:
            problems.append(Problem(number, f"{name} line {number}: unknown rule code(s) "
                                            f"{', '.join(unknown)} in a suppression", tuple(unknown)))
        reason = (match["reason"] or "").strip()
        if not reason:
            problems.append(Problem(number, f"{name} line {number}: suppression of {', '.join(codes)} "
                                            "has no reason, so it is ignored", codes))
            continue
        allows += [Allow(c, revision, None, reason, f"{name} line {number}") for c in codes if is_known(c)]
    return allows, problems
