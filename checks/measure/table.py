"""The fresh stage's `deploy_risk` (RevisionRisk.to_json) in words: the table the console
prints with -v (a row per revision and table that existed before it), and the phrases the
HTML report and the grounded lint findings use."""

from __future__ import annotations

from checks.measure.locks import MODES
from checks.measure.risk import TABLE_KINDS

_RANKS = {mode.sql: mode.rank for mode in MODES.values()}

HEADER = ("revision", "table", "lock", "blocks", "rewrite", "full scan")


def _lock(table: dict) -> str:
    if unseen(table):
        return f"{table['lock']}; stronger held already" if table["lock"] else "held already (not measured)"
    if table["lock"] is None:
        return "not measured (outside the transaction)" if table["outside_transaction"] else "-"
    return table["lock"] + (" (by its rewrite)" if table["lock_implied_by_rewrite"] else "")


def rows(revisions: list[dict]) -> list[tuple[str, ...]]:
    found = []
    for revision in revisions:
        for table in revision["tables"]:
            found.append((revision["revision"], table["table"], _lock(table), table["blocks"] or "-",
                          ", ".join(table["rewritten"]) or "-", str(table["full_scans"] or "-")))
    return found


def lines(revisions: list[dict], indent: str = "      ") -> list[str]:
    body = rows(revisions)
    if not body:
        return [f"{indent}deploy risk: no revision locks a table that existed before it"]
    widths = [max(len(row[i]) for row in (HEADER, *body)) for i in range(len(HEADER))]
    shown = [f"{indent}deploy risk (each revision's strongest lock on tables that existed before it):"]
    for row in (HEADER, *body):
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        shown.append((indent + "  ".join(cells)).rstrip())
    unattributed = [r["revision"] for r in revisions if not r["statements_attributed"]]
    if unattributed:
        shown.append(f"{indent}(statements not captured one by one, totals only: {', '.join(unattributed)})")
    return shown


def in_words(table: dict) -> str:
    """`ACCESS EXCLUSIVE on public.items, table rewritten`: what the build saw, in words."""
    if unseen(table):
        said = [f"a lock on {table['table']} held already"]
    elif table["lock"]:
        said = [f"{table['lock']} on {table['table']}"]
    else:
        said = [f"no lock measured on {table['table']} (outside the transaction)"]
    rewritten = table["table"] in table["rewritten"]
    if rewritten:
        said.append("table rewritten")
    elif table["rewritten"]:
        said.append(f"{', '.join(table['rewritten'])} rebuilt")
    if table["full_scans"] and not rewritten:  # a rewrite reads every row too
        said.append("every row read")
    return ", ".join(said)


def unseen(table: dict) -> bool:
    """Its lock was held from an earlier revision of the same transaction: not measured."""
    return table["lock_held_from_earlier"] and not table["lock_implied_by_rewrite"]


def statement_words(statement: dict) -> str:
    """What one measured statement (RevisionRisk.statements) did, in words: its locks on
    tables, the relations it rewrote, the tables it read in full."""
    said = []
    if statement["outside_transaction"]:
        said.append("outside the transaction (its locks went with its commit)")
    strongest: dict[str, str] = {}
    for lock in statement.get("locks") or ():
        held = strongest.get(lock["relation"])  # a mode the manual does not name counts as the strongest
        if lock["kind"] in TABLE_KINDS and _RANKS.get(lock["mode"], 9) > _RANKS.get(held, 0):
            strongest[lock["relation"]] = lock["mode"]
    said += [f"{mode} on {relation}" for relation, mode in strongest.items()]
    said += [f"under {held['mode']} held already on {held['relation']}"
             for held in statement.get("held") or () if held["kind"] in TABLE_KINDS]
    rewritten = [r["relation"] for r in statement.get("rewrites") or ()]
    if rewritten:
        said.append(f"rewrites {', '.join(rewritten)}")
    # A rewrite reads every row too.
    said += [f"reads every row of {scan['relation']}" for scan in statement.get("scans") or ()
             if scan["relation"] not in rewritten]
    created = [c["relation"] for c in statement.get("created") or ()]
    if created:
        said.append(f"creates {', '.join(created)}")
    return "; ".join(said) or "-"
