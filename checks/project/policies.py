"""What a project does by design: declared in the suite's settings, or recognised.

A policy changes verdicts (no downgrades: nothing to round-trip; heads kept apart: nothing
to merge), so every verdict it changes says how it was established. Recognition reads the
files' source, never imports them: a fact read from a file holds whichever interpreter
runs the project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from alembic.script import Script, ScriptDirectory

from checks.errors import ConfigError, shown
from checks.project.revision_files import RevisionFile, revision_files
from checks.project.settings import Settings
from checks.textfile import python_source

TEMPLATE = "script.py.mako"


@dataclass(frozen=True)
class Policy:
    """A choice the project made; `how` says where it was read, for the messages it changes."""

    declared: bool  # in the suite's settings; else recognised from the files
    how: str


def no_downgrades(settings: Settings, script: ScriptDirectory,
                  files: list[RevisionFile] | None = None) -> Policy | None:
    """The project rolls forward only: `downgrades = false`, or, unset, no revision file and
    no script.py.mako defines a downgrade(). None when it writes downgrades."""
    if settings.downgrades is not None:
        return None if settings.downgrades else Policy(True, f"declared: downgrades = false in "
                                                             f"{settings.source}")
    if _writes_downgrade(Path(script.dir) / TEMPLATE):
        return None  # the common case, told by one file
    seen = False  # a history with no revision yet has no policy to recognise
    for info in revision_files(script) if files is None else files:
        if info.revision is None:
            continue
        if "downgrade" in info.functions:
            return None  # read no further
        seen = True
    return Policy(False, "recognised: no revision file and no script.py.mako template defines a "
                         "downgrade()") if seen else None


# A Mako template is not Python (multidb's defines downgrade_${name}() in a `% for` loop):
# a definition is a line that starts one.
_DEFINES_DOWNGRADE = re.compile(r"^[ \t]*(async[ \t]+)?def[ \t]+downgrade", re.M)


def _writes_downgrade(template: Path) -> bool:
    """Whether the template new revisions are made from defines downgrade() (one that cannot
    be read is taken to: a policy is never recognised from a file nobody could read)."""
    if not template.is_file():
        return False
    try:
        return bool(_DEFINES_DOWNGRADE.search(python_source(template)))
    except (SyntaxError, ValueError, OSError):
        return True


def labelled_heads(settings: Settings, heads: list[Script]) -> tuple[dict[str, str], Policy] | None:
    """Several heads kept apart by design: {head revision: its label} and how that was
    established, when every head has a branch label no other head has, among those the
    `heads` setting declares (when set) or all of them; None otherwise."""
    labels = {label for head in heads for label in head.branch_labels}  # Alembic gives a branch's
    declared = [entry.removesuffix("@head") for entry in settings.heads]  # label to its descendants
    unknown = [entry for entry, label in zip(settings.heads, declared, strict=True) if label not in labels]
    if unknown:
        real = f"its branch labels are: {', '.join(sorted(labels))}" if labels else (
            "it has none: set branch_labels on the first revision of each branch")
        raise ConfigError(f"{settings.source}: heads: {shown(unknown[0])} names no branch label of this "
                          f"history; {real}")
    candidates = set(declared) if declared else labels
    own: dict[str, str] = {}
    for head in heads:
        others = {label for other in heads if other is not head for label in other.branch_labels}
        mine = sorted(set(head.branch_labels) & candidates - others)
        if not mine:
            return None
        own[head.revision] = mine[0]
    how = (f"declared: heads in {settings.source}" if declared else
           "recognised: each head has a branch label of its own")
    return own, Policy(bool(declared), how)
