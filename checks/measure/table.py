"""The deploy-risk table the console prints with -v: a row per revision and table that
existed before it, from the fresh stage's `deploy_risk` (RevisionRisk.to_json)."""

from __future__ import annotations

HEADER = ("revision", "table", "lock", "blocks", "rewrite", "full scan")


def _lock(table: dict) -> str:
    if table["lock_held_from_earlier"] and not table["lock_implied_by_rewrite"]:
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
