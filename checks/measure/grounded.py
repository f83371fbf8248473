"""Lint grounded in what the fresh build measured, when one verify ran both stages.

A lint rule that claims a lock, a rewrite or a full scan guesses it from the SQL text;
the fresh build saw what the same revision did on the same server. Where they agree, the
lint finding says what was measured. Where the measurement contradicts the claim (a
widened varchar that was not rewritten), the measurement wins: the finding says what was
measured on which PostgreSQL and drops to a note, as it is no problem on this server. A
deploy-lock, -rewrite or -scan the build measured on a table no rule made that claim
about is a note of the lint stage: the rules cannot see SQL that `alembic upgrade --sql`
does not print, nor statements they do not know; the fresh stage's warning stands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from checks.measure.findings import LOCK, REWRITE, SCAN
from checks.measure.locks import MODES
from checks.measure.table import in_words, unseen
from checks.result import Finding, Severity, StageResult

UNPREDICTED = "measured-unpredicted"


@dataclass(frozen=True)
class Claim:
    """What a rule says the statement it caught does to its table."""

    lock: bool = False  # takes a lock that blocks writes
    rewrite: bool = False
    scan: bool = False
    by_index: bool = False  # the finding names an index, not a table or a table's part


CLAIMS = {
    "alter-column-type": Claim(lock=True, rewrite=True),
    "volatile-default": Claim(lock=True, rewrite=True),
    "set-not-null": Claim(lock=True, scan=True),
    "constraint-not-valid": Claim(lock=True, scan=True),
    "unique-not-using-index": Claim(lock=True, scan=True),
    "create-index-not-concurrent": Claim(lock=True, scan=True, by_index=True),
    "drop-index-not-concurrent": Claim(lock=True, by_index=True),
    "missing-lock-timeout": Claim(lock=True),
}
_BLOCKS_WRITES = {mode.sql for mode in MODES.values() if mode.blocks_writes}


def ground(lint: StageResult, fresh: StageResult | None, version: str,
           linted: set[str] | None = None) -> StageResult:
    """`lint` with its claims checked against `fresh`'s measurements (its deploy_risk), and a
    note per measured warning no claim foresaw, on the revisions in `linted` (all when None)."""
    if fresh is None or not fresh.deploy_risk:
        return lint
    risks = {risk["revision"]: risk for risk in fresh.deploy_risk}
    findings, claimed = [], []
    for finding in lint.findings:
        claim = CLAIMS.get(finding.code)
        risk = risks.get(finding.revision or "")
        table = _table(finding, claim, risk) if claim and risk else None
        if table is None:
            findings.append(finding)
            continue
        claimed.append((finding.revision, table, claim))
        findings.append(_grounded(finding, claim, table, version))
    for found in fresh.findings:
        if found.code not in (LOCK, REWRITE, SCAN) or found.severity is not Severity.WARNING:
            continue
        tables = risks.get(found.revision, {}).get("tables", ())
        table = next((t for t in tables if t["table"] == found.object), None)
        if table is not None and (linted is None or found.revision in linted) \
                and not _foreseen(found, table, claimed):
            findings.append(_unpredicted(found, table))
    return StageResult.from_findings(lint.name, findings, lint.duration_s, summary=lint.summary,
                                     deploy_risk=lint.deploy_risk)


def _table(finding: Finding, claim: Claim, risk: dict) -> dict | None:
    """The measured table the finding is about: the one it names (`items.n`, `public.items`),
    or for an index, the one whose measured statements name that index."""
    obj = (finding.object or "").strip('"')
    tables = risk["tables"]
    if claim.by_index:
        index = re.escape(obj.rpartition(".")[2])
        found = [t for t in tables if any(re.search(rf'(?<![\w$]){index}(?![\w$])', text, re.IGNORECASE)
                                          for text in t["statements"])]
    else:
        found = [t for t in tables if _names(obj, t["table"])]
    return found[0] if len(found) == 1 else None


def _names(obj: str, table: str) -> bool:
    """Whether `obj` (lint's table, or table.part, as the SQL spelt it) is `table` (schema.name)."""
    return any(obj == form or obj.startswith(form + ".") for form in (table, table.rpartition(".")[2]))


def _refuted(claim: Claim, table: dict) -> list[str]:
    """What the claim says that the measurement contradicts."""
    wrong = []
    if claim.rewrite and table["table"] not in table["rewritten"]:
        wrong.append("no rewrite")
    if claim.scan and not table["full_scans"]:
        wrong.append("no full scan")
    if claim.lock and not (claim.rewrite or claim.scan) and not unseen(table) \
            and table["lock"] not in _BLOCKS_WRITES:
        wrong.append("no lock that blocks writes")
    return wrong


def _grounded(finding: Finding, claim: Claim, table: dict, version: str) -> Finding:
    wrong = _refuted(claim, table)
    if not wrong:
        return replace(finding, message=f"{finding.message}; measured: {in_words(table)}")
    return replace(finding, severity=Severity.INFO, message=(
        f"{finding.message}; measured: {' and '.join(wrong)} on PostgreSQL {version} "
        f"({in_words(table)}), so not reported as a problem on this server"))


def _foreseen(found: Finding, table: dict, claimed: list) -> bool:
    """A claim on the same table of what was found; for a lock, also a claim on a statement
    that locked this table besides its own (a foreign key locks the table it references)."""
    wanted = {REWRITE: lambda c: c.rewrite, SCAN: lambda c: c.scan, LOCK: lambda c: True}[found.code]
    texts = set(table["statements"])
    return any(revision == found.revision and wanted(claim)
               and (other["table"] == found.object or found.code == LOCK and texts & set(other["statements"]))
               for revision, other, claim in claimed)


def _unpredicted(found: Finding, table: dict) -> Finding:
    return Finding(
        Severity.INFO, UNPREDICTED,
        f"revision {found.revision}: measured {in_words(table)} (the fresh stage's {found.code}); "
        "no static rule predicted this",
        revision=found.revision, object=found.object, file=found.file, line=found.line,
        hint="the lint rules read the SQL `alembic upgrade --sql` prints: SQL sent through the driver's own "
             "cursor, or a statement no rule knows, is seen only by measuring; the fresh stage's "
             "finding says how to shorten the wait")
