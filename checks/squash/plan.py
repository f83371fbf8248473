"""Which revisions a squash replaces, and whether the history above them stays whole without them.

The base keeps the id of the revision it squashes to (REV): every database at REV or later
needs nothing, and every revision above REV already names REV as its down revision. So a
squash is possible only when nothing that stays names any other revision that goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.script import Script

from checks.errors import ConfigError
from checks.pullrequest.scope import parents


@dataclass
class Plan:
    """REV, the revisions the base replaces (REV and its ancestors, parents first), and the rest."""

    point: Script
    squashed: list[Script]
    kept: list[Script]

    @property
    def paths(self) -> list[Path]:
        return [Path(script.path) for script in self.squashed]


def find_revision(order: list[Script], wanted: str, option: str = "--to") -> Script:
    """The revision `wanted` names: an id or a unique prefix of one."""
    exact = [s for s in order if s.revision == wanted]
    found = exact or [s for s in order if s.revision.startswith(wanted)]
    if len(found) == 1:
        return found[0]
    if found:
        listed = ", ".join(s.revision for s in found[:5])
        raise ConfigError(f"{option} {wanted}: names several revisions ({listed}); give more of the id")
    raise ConfigError(f"{option} {wanted}: no such revision in the history; "
                      "list them with: python -m checks history")


def plan(order: list[Script], wanted: str) -> Plan:
    """The squash to `wanted`, or a one-line refusal naming what stands in the way."""
    point = find_revision(order, wanted)
    ancestry = ancestors(order, point.revision) | {point.revision}
    squashed = [s for s in order if s.revision in ancestry]
    if len(squashed) < 2:
        raise ConfigError(f"--to {point.revision}: it is the first revision, there is nothing to squash; "
                          "name a later revision")
    kept = [s for s in order if s.revision not in ancestry]
    for script in kept:
        hidden = [p for p in parents(script) if p in ancestry and p != point.revision]
        if hidden:
            raise ConfigError(
                f"--to {point.revision}: revision {script.revision} ({Path(script.path).name}) stays and "
                f"stands on {hidden[0]}, which the base would replace; squash to a revision every later "
                "one stands on (merge the branches first), or to a later revision")
    return Plan(point, squashed, kept)


def ancestors(order: list[Script], revision: str) -> set[str]:
    by_id = {s.revision: s for s in order}
    seen: set[str] = set()
    todo = list(parents(by_id[revision]))
    while todo:
        current = todo.pop()
        if current not in seen and current in by_id:
            seen.add(current)
            todo.extend(parents(by_id[current]))
    return seen
