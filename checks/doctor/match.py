"""Which revision the live schema really is at, when the version table cannot say.

The live schema is compared with the schema after each revision; the closest one (fewest
differences) is the revision to stamp. Hand-made objects count against every candidate
alike, so they do not move the match.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from checks.doctor.history import History
from checks.doctor.live import without_grants
from checks.result import Finding, Severity
from checks.schema import SchemaDifference, Snapshot, diff_snapshots


@dataclass
class Match:
    revision: str  # "base" or a revision id
    differences: list[SchemaDifference]
    ties: list[str]  # later revisions after which the schema is the same: they change none
    near: list[str] = field(default_factory=list)  # other schemas exactly as close, but different


def best_match(history: History, live: Snapshot, ignore: frozenset[str]) -> Match | None:
    states = {label: without_grants(state) for label, state in history.states.items()}
    live = without_grants(live)
    scored = [(label, diff_snapshots(state, live, expected_label=f"migrations at {label}",
                                     actual_label="database", ignore=ignore))
              for label, state in states.items()]
    if not scored:
        return None
    fewest = min(len(diffs) for _, diffs in scored)
    closest = [(label, diffs) for label, diffs in scored if len(diffs) == fewest]
    # Of equally close schemas, the latest; of revisions that leave it the same, the
    # earliest: the schema proves that one ran, not the ones after it.
    latest = states[closest[-1][0]]
    same = [(label, diffs) for label, diffs in closest if states[label] == latest]
    label, diffs = same[0]
    return Match(label, diffs, [other for other, _ in same[1:]],
                 [other for other, _ in closest if states[other] != latest])


def match_findings(match: Match | None, history: History, command: Callable[..., str]) -> list[Finding]:
    """Stamping a guess leaves the next upgrade to fail on a table that already exists, or
    skips the revision that would have created one; the schema itself says which is right.
    `command("stamp", REV)` is the task that writes it (checks/doctor/fixes.py)."""
    if match is None:
        return [Finding(Severity.ERROR, "no-history", "no revision could be built on the throwaway "
                        "server, so nothing to match the schema against")]
    revision = match.revision
    found = []
    exact = not match.differences
    after = "no revision (base)" if revision == "base" else revision
    count = len(match.differences)
    wording = (f"matches the schema after {after} exactly" if exact else
               f"is closest to the schema after {after}, but for {count} difference{'s' * (count != 1)} "
               "listed below")
    found.append(Finding(
        Severity.WARNING, "schema-matches", f"the live schema {wording}",
        revision=None if revision == "base" else revision,
        hint=f"{command('stamp', revision)} (backs up first, then records {revision}; or: "
             f"{command('doctor', '--fix')})"))
    if match.ties:
        kinds = {script.revision: _what_it_changes(script) for script in history.order}
        named = ", ".join(f"{tie} ({kinds.get(tie, 'changes no schema')})" for tie in match.ties)
        found.append(Finding(Severity.INFO, "schema-ties",
                             f"the schema after {after} is also the schema after {named}: the schema "
                             f"cannot tell whether they ran; if their work is in the database, "
                             f"{command('stamp', match.ties[-1])} instead"))
    if match.near:
        found.append(Finding(Severity.INFO, "schema-ties",
                             f"the schema after {', '.join(match.near)} is as close ({count} "
                             f"difference{'s' * (count != 1)}) but not the same; compare the differences "
                             f"below with those revisions before stamping"))
    for difference in match.differences:
        found.append(Finding(Severity.WARNING, "match-difference", difference.message,
                             object=difference.object))
    if history.error is not None:
        found.append(Finding(Severity.WARNING, "history-incomplete",
                             f"the fresh build stopped at {history.error.revision}: {history.error}; "
                             "revisions after it were not compared", revision=history.error.revision))
    return found


def _what_it_changes(script) -> str:
    """Why a revision leaves the schema as it was: no code, a merge, or code on the data."""
    if not _runs_code(script):
        return "a merge point, empty" if script.is_merge_point else "empty: its upgrade() does nothing"
    return "changes data only, or nothing the schema shows"


def _runs_code(script) -> bool:
    try:
        tree = ast.parse(Path(script.path).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):  # a .pyc-only revision: assume it does something
        return True
    upgrade = next((node for node in ast.walk(tree)
                    if isinstance(node, ast.FunctionDef) and node.name == "upgrade"), None)
    if upgrade is None:
        return False
    return any(not isinstance(statement, ast.Pass)
               and not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
               for statement in upgrade.body)
