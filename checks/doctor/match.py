"""Which revision the live schema really is at, when the version table cannot say.

The live schema is compared with the schema after each revision; the closest one (fewest
differences) is the revision to stamp. Hand-made objects count against every candidate
alike, so they do not move the match.
"""

from __future__ import annotations

from dataclasses import dataclass

from checks.doctor.history import History
from checks.project.project import Project
from checks.result import Finding, Severity
from checks.schema import SchemaDifference, Snapshot, diff_snapshots


@dataclass
class Match:
    revision: str  # "base" or a revision id
    differences: list[SchemaDifference]
    ties: list[str]  # other revisions exactly as close: revisions that change no schema


def best_match(history: History, live: Snapshot, ignore: frozenset[str]) -> Match | None:
    scored = [(label, diff_snapshots(state, live, expected_label=f"migrations at {label}",
                                     actual_label="database", ignore=ignore))
              for label, state in history.states.items()]
    if not scored:
        return None
    fewest = min(len(diffs) for _, diffs in scored)
    closest = [(label, diffs) for label, diffs in scored if len(diffs) == fewest]
    # The latest of equals: revisions between them change data only, and stamping the
    # earliest would run those again.
    label, diffs = closest[-1]
    return Match(label, diffs, [other for other, _ in closest[:-1]])


def match_findings(match: Match | None, history: History, stamp: str) -> list[Finding]:
    """Stamping a guess leaves the next upgrade to fail on a table that already exists, or
    skips the revision that would have created one; the schema itself says which is right."""
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
        hint=f"{stamp} {revision}"))
    if match.ties:
        found.append(Finding(Severity.INFO, "schema-ties",
                             f"the schema after {', '.join(match.ties)} is identical: those revisions "
                             "change no schema (data only); check their data by hand"))
    for difference in match.differences:
        found.append(Finding(Severity.WARNING, "match-difference", difference.message,
                             object=difference.object))
    if history.error is not None:
        found.append(Finding(Severity.WARNING, "history-incomplete",
                             f"the fresh build stopped at {history.error.revision}: {history.error}; "
                             "revisions after it were not compared", revision=history.error.revision))
    return found


def stamp_command(project: Project, purge: bool) -> str:
    """`alembic stamp` as the user would type it in the project's folder; --purge because
    Alembic refuses to stamp over a version row it cannot locate."""
    words = ["alembic"]
    default_ini = project.root / "alembic.ini"
    if project.ini_path != default_ini:
        try:
            words += ["-c", str(project.ini_path.relative_to(project.root))]
        except ValueError:
            words += ["-c", str(project.ini_path)]
    if project.settings.ini_section != "alembic":
        words += ["-n", project.settings.ini_section]
    words.append("stamp")
    if purge:
        words.append("--purge")
    return " ".join(words)
