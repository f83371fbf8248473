"""The revision graph a report draws: each revision, its parents, and where it sits.

Lanes are assigned in upgrade order: a revision continues its first parent's lane unless
a sibling took it, so a branch opens a lane and a merge closes one, as `git log --graph`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Node:
    id: str
    parents: tuple[str, ...]
    file: str
    message: str
    row: int = 0
    lane: int = 0
    children: list[str] = field(default_factory=list)


def read_graph(project) -> list[Node]:
    """The history in upgrade order (base first); empty when Alembic cannot load it, which
    the files stage reports on its own."""
    try:
        with project.env.active():
            scripts = list(reversed(list(project.script.walk_revisions("base", "heads"))))
    except Exception:  # noqa: BLE001 - a broken history is reported by the stages, not here
        return []
    root = Path(project.root).resolve()
    nodes = []
    for script in scripts:
        path = Path(script.path).resolve()
        shown = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        nodes.append(Node(script.revision, tuple(script._all_down_revisions), shown,
                          (script.doc or "").strip().splitlines()[0] if script.doc else ""))
    return layout(nodes)


def layout(nodes: list[Node]) -> list[Node]:
    by_id = {n.id: n for n in nodes}
    position = {n.id: i for i, n in enumerate(nodes)}
    for node in nodes:
        for parent in node.parents:
            if parent in by_id:
                by_id[parent].children.append(node.id)
    taken: dict[str, int] = {}  # parent id -> the lane its first child continued
    busy: set[int] = set()
    for row, node in enumerate(nodes):
        node.row = row
        parents = [by_id[p] for p in node.parents if p in by_id]
        lane = None
        for parent in parents:
            if parent.id not in taken:
                lane = parent.lane
                taken[parent.id] = lane
                break
        if lane is None:
            lane = next(i for i in range(len(nodes) + 1) if i not in busy)
        # A merge frees the lanes of the parents it closes.
        for parent in parents:
            if parent.lane != lane and all(position[c] <= row for c in parent.children):
                busy.discard(parent.lane)
        node.lane = lane
        busy.add(lane)
    return nodes
