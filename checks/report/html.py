"""The HTML report: one self-contained file (no network) to attach to a CI run.

The revision graph is inline SVG, each revision coloured by its worst finding; clicking
one shows its findings. Below: the revision list with what the fresh build measured of each
(its deploy risk, and its statements one by one) and, when the rehearse stage ran, how long
its lock would be held at the declared volumes; the stage table with timings, and the drift
differences with the models' side and the migrations' side in columns.
"""

from __future__ import annotations

import json
import re
from html import escape
from pathlib import Path

from checks.errors import ConfigError
from checks.measure.findings import LOCK, REWRITE, SCAN
from checks.measure.table import in_words, statement_words
from checks.rehearse.findings import milliseconds
from checks.report.graph import Node
from checks.result import Finding, Severity, StageResult, Status, overall_status
from checks.version import VERSION
from harness.errors import mask_passwords

COLOURS = {"error": "#d73a49", "warning": "#e3a008", "info": "#2f80ed", "clean": "#2da44e"}
ROW, LANE, PAD = 44, 36, 24

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1f2328;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.status-fail,.status-error{color:#d73a49}.status-warn{color:#b08800}.status-pass{color:#2da44e}
table{border-collapse:collapse;margin:4px 0}td,th{border:1px solid #d0d7de;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f6f8fa}
#layout{display:flex;gap:24px;align-items:flex-start}#graph{flex:none}
#details{flex:1;border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-height:120px}
.rev{cursor:pointer}.rev text{font:12px monospace;fill:#1f2328}
.rev.selected circle{stroke:#000;stroke-width:3}
.finding{margin:6px 0;padding:6px 8px;border-left:4px solid}.finding.error{border-color:#d73a49}
.finding.warning{border-color:#e3a008}.finding.info{border-color:#2f80ed}.hint,.where{color:#57606a}
.bar{height:10px;background:#2f80ed;display:inline-block;vertical-align:middle}
code{font-size:12px}.risk-deploy-rewrite,.risk-deploy-scan{color:#b08800}
.statements li{margin:4px 0}.statements .did,.rehearsed .did{color:#57606a}
.over-limit{color:#d73a49;font-weight:bold}
"""

SCRIPT = """
const findings = JSON.parse(document.getElementById('findings-data').textContent);
function esc(t){const d=document.createElement('div');d.textContent=t;return d.innerHTML;}
function show(rev){
  document.querySelectorAll('.rev').forEach(g=>g.classList.toggle('selected', g.dataset.rev===rev));
  const list = findings[rev] || [];
  let html = '<h2>Revision ' + esc(rev) + '</h2>';
  if (!list.length) html += '<p>No findings.</p>';
  for (const f of list) {
    html += '<div class="finding ' + f.severity + '"><b>' + esc(f.stage) + ' ' + esc(f.code) + '</b>: '
      + esc(f.message) + (f.file ? '<div class="where">' + esc(f.file + ':' + f.line) + '</div>' : '')
      + (f.hint ? '<div class="hint">fix: ' + esc(f.hint) + '</div>' : '') + '</div>';
  }
  document.getElementById('details').innerHTML = html;
}
document.querySelectorAll('.rev').forEach(g=>g.addEventListener('click',()=>show(g.dataset.rev)));
show(document.body.dataset.first);
"""

_RANK = {Severity.ERROR: 3, Severity.WARNING: 2, Severity.INFO: 1}


def _worst(findings: list[Finding]) -> str:
    if not findings:
        return "clean"
    return max(findings, key=lambda f: _RANK[f.severity]).severity.value


def _by_revision(results: list[StageResult]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for result in results:
        if result.status is Status.SKIP:
            continue
        for f in result.findings:
            if f.revision:
                found.setdefault(f.revision, []).append({**f.to_json(), "stage": result.name})
    for items in found.values():
        items.sort(key=lambda f: -_RANK[Severity(f["severity"])])
    return found


def graph_svg(nodes: list[Node], findings: dict[str, list[dict]]) -> str:
    if not nodes:
        return '<svg id="revision-graph" width="200" height="40"><text x="4" y="24">no history</text></svg>'
    lanes = max(n.lane for n in nodes) + 1
    width = PAD * 2 + lanes * LANE + 320
    height = PAD * 2 + (len(nodes) - 1) * ROW
    by_id = {n.id: n for n in nodes}
    # Newest at the top, as `alembic history` lists it.
    pos = {n.id: (PAD + n.lane * LANE, PAD + (len(nodes) - 1 - n.row) * ROW) for n in nodes}
    parts = [f'<svg id="revision-graph" xmlns="http://www.w3.org/2000/svg" width="{width}" '
             f'height="{height}" role="img" aria-label="revision graph">']
    for node in nodes:
        x2, y2 = pos[node.id]
        for parent in node.parents:
            if parent not in by_id:
                continue
            x1, y1 = pos[parent]
            mid = (y1 + y2) / 2
            parts.append(f'<path class="edge" d="M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}" '
                         'fill="none" stroke="#8c959f" stroke-width="2"/>')
    for node in nodes:
        x, y = pos[node.id]
        worst = _worst([Finding(Severity(f["severity"]), "", "") for f in findings.get(node.id, [])])
        label = node.id + (f"  {node.message}" if node.message else "")
        label += "  (merge)" if len(node.parents) > 1 else ""
        text_x = PAD + lanes * LANE
        parts.append(
            f'<g class="rev {worst}" data-rev="{escape(node.id)}" data-worst="{worst}">'
            f'<title>{escape(node.id)}: {escape(node.file)}</title>'
            f'<circle cx="{x}" cy="{y}" r="11" fill="{COLOURS[worst]}"/>'
            f'<text x="{text_x}" y="{y + 4}">{escape(label[:60])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _revision_table(results: list[StageResult], nodes: list[Node], findings: dict[str, list[dict]]) -> str:
    """Each revision, newest first, with its findings and its deploy risk: the tables that
    existed before it, the lock it took on each and whether it rewrote or read them in full,
    and below, every statement the fresh build measured; and, where the rehearse stage ran,
    the time each lock would be held at the declared volume."""
    fresh = next((r for r in results if r.name == "fresh" and r.status is not Status.SKIP), None)
    measured = fresh is not None and fresh.deploy_risk is not None
    risks = {risk["revision"]: risk for risk in fresh.deploy_risk or ()} if measured else {}
    rehearsal = next((r.rehearsal for r in results if r.rehearsal is not None), None)
    rows = []
    for node in sorted(nodes, key=lambda n: -n.row):
        found = findings.get(node.id, [])
        counts = ", ".join(f"{n} {s.value}" for s in Severity
                           if (n := sum(f["severity"] == s.value for f in found))) or "none"
        codes = [f["code"] for f in found if f["stage"] == "fresh" and f["code"] in (REWRITE, SCAN, LOCK)]
        worst = next((code for code in (REWRITE, SCAN, LOCK) if code in codes), "")
        cell = _risk_cell(risks.get(node.id), worst, measured)
        rehearsed = "" if rehearsal is None else _rehearsal_cell(node.id, rehearsal)
        rows.append(f'<tr class="revision" data-rev="{escape(node.id)}"><td><code>{escape(node.id)}</code>'
                    f"</td><td>{escape(node.message or '')}</td><td>{counts}</td>"
                    f'<td class="deploy-risk risk-{worst or "none"}">{cell}</td>{rehearsed}</tr>')
    heading = "" if rehearsal is None else "<th>Lock held at the declared volume (rehearse)</th>"
    return ('<table id="revisions"><tr><th>Revision</th><th>Message</th><th>Findings</th><th>Deploy risk</th>'
            f"{heading}</tr>{''.join(rows)}</table>")


def _rehearsal_cell(revision: str, rehearsal: dict) -> str:
    """The rehearse stage's estimate for each table `revision` locks, marked where it is over
    max_lock_ms, with the statement that takes the most of it."""
    entry = next((r for r in rehearsal["revisions"] if r["revision"] == revision), None)
    if revision in rehearsal["not_rehearsed"]:
        return '<td class="rehearsed">not rehearsed: the rehearse_budget ran out</td>'
    if entry is None:
        return '<td class="rehearsed">-</td>'
    if entry["failed"]:
        return f'<td class="rehearsed">failed on tables with rows: {escape(entry["failed"])}</td>'
    parts = []
    for table in entry["tables"]:
        over = (f'<span class="over-limit">over max_lock_ms ({rehearsal["max_lock_ms"]:g})</span>: '
                if table["over_max_lock_ms"] else "")
        said = (f'{over}{escape(table["lock"])} on {escape(table["table"])} for '
                f'{milliseconds(table["estimate_ms"])} at {table["declared_rows"]:,} rows')
        slowest = max(table["statements"], key=lambda s: s["estimate_ms"], default=None)
        if slowest is not None:
            said += (f'<div class="did">slowest statement: <code>{escape(slowest["text"])}</code> '
                     f'({milliseconds(slowest["estimate_ms"])})</div>')
        parts.append(f'<div class="{"over" if table["over_max_lock_ms"] else "within"}">{said}</div>')
    if entry["unfilled"]:
        parts.append(f'<div class="did">rehearsed with {escape(", ".join(entry["unfilled"]))} empty</div>')
    return f'<td class="rehearsed">{"".join(parts) or "-"}</td>'


def _risk_cell(risk: dict | None, worst: str, measured: bool) -> str:
    if risk is None:
        return "not measured" if not measured else "-"
    tables = "<br>".join(escape(in_words(table)) for table in risk["tables"])
    cell = (f"<b>{worst}</b>: " if worst else "") + (tables or "no table that existed before it")
    statements = "".join(f'<li><code>{escape(s["text"])}</code>'
                         f'<div class="did">{escape(statement_words(s))}</div></li>'
                         for s in risk["statements"])
    if statements:
        cell += (f'<details class="statements"><summary>{len(risk["statements"])} statement(s) measured'
                 f"</summary><ol>{statements}</ol></details>")
    return cell


def _stage_table(results: list[StageResult]) -> str:
    longest = max((r.duration_s for r in results), default=0) or 1
    rows = []
    for r in results:
        counts = {s: sum(f.severity is s for f in r.findings) for s in Severity}
        bar = int(160 * r.duration_s / longest)
        rows.append(f'<tr><td>{escape(r.name)}</td><td class="status-{r.status.value}">{r.status.value}</td>'
                    f"<td>{counts[Severity.ERROR]}</td><td>{counts[Severity.WARNING]}</td>"
                    f"<td>{counts[Severity.INFO]}</td><td>{r.duration_s:.2f}s "
                    f'<span class="bar" style="width:{bar}px"></span></td></tr>')
    return ('<table id="stages"><tr><th>Stage</th><th>Status</th><th>Errors</th><th>Warnings</th>'
            f"<th>Info</th><th>Time</th></tr>{''.join(rows)}</table>")


# The wording of checks.schema.report: "{object}: {property} {models} in models, {migrations}
# in migrations", or "{object}: exists in models, missing in migrations[: detail]".
_CHANGED = re.compile(r"^(?P<prop>\S+) (?P<models>.+) in models, (?P<migrations>.+) in migrations$", re.S)
_ONE_SIDED = re.compile(r"^exists in (?P<present>models|migrations), missing in \w+(?:: (?P<detail>.*))?$",
                        re.S)


def _sides(finding: Finding) -> tuple[str, str, str]:
    """(what differs, the models' side, the migrations' side), read from the message."""
    message = finding.message
    rest = message.removeprefix(f"{finding.object}: ") if finding.object else message
    if match := _ONE_SIDED.match(rest):
        detail = match["detail"] or "present"
        return "exists", *((detail, "missing") if match["present"] == "models" else ("missing", detail))
    if match := _CHANGED.match(rest):
        return match["prop"], match["models"], match["migrations"]
    # Alembic's autogenerate wording.
    if "in the models but no migration" in message:
        return message, "present", "missing"
    if "after the migrations but is in no model" in message:
        return message, "missing", "present"
    return message, "", ""


def _drift_table(results: list[StageResult]) -> str:
    drift = next((r for r in results if r.name == "drift"), None)
    rows = [f for f in drift.findings if f.code.startswith("drift-")] if drift else []
    if not rows:
        return "<p>No drift between the models and the migrations.</p>"
    cells = []
    for f in rows:
        what, models, migrations = _sides(f)
        cells.append(f"<tr><td><code>{escape(f.object or '')}</code></td><td>{escape(what)}</td>"
                     f"<td>{escape(models)}</td><td>{escape(migrations)}</td></tr>")
    return ('<table id="drift"><tr><th>Object</th><th>Difference</th><th>Models</th><th>Migrations</th></tr>'
            f"{''.join(cells)}</table>")


def _other_findings(results: list[StageResult]) -> str:
    loose = [(r.name, f) for r in results for f in r.findings if not f.revision]
    if not loose:
        return ""
    items = "".join(f'<div class="finding {f.severity.value}"><b>{escape(stage)} {escape(f.code)}</b>: '
                    f"{escape(f.message)}</div>" for stage, f in loose)
    return f"<h2>Findings about no one revision</h2>{items}"


def build_html(results: list[StageResult], nodes: list[Node], project: str, server: str | None = None,
               error: str | None = None) -> str:
    findings = _by_revision(results)
    status = "error" if error else overall_status(results).value
    worst_first = sorted(nodes, key=lambda n: -max((_RANK[Severity(f["severity"])]
                                                    for f in findings.get(n.id, [])), default=0))
    first = worst_first[0].id if worst_first else ""
    data = json.dumps(findings).replace("</", "<\\/")
    body = (
        f'<h1>alembic-preflight: <span class="status-{status}">{status.upper()}</span></h1>'
        f"<div>{escape(project)}{' on ' + escape(server) if server else ''}</div>"
        + (f'<p class="status-error">The run ended early: {escape(error)}</p>' if error else "")
        + f'<h2>Revisions</h2><div id="layout"><div id="graph">{graph_svg(nodes, findings)}</div>'
        f'<div id="details"></div></div>{_revision_table(results, nodes, findings)}'
        f"<h2>Stages</h2>{_stage_table(results)}"
        f"<h2>Drift</h2>{_drift_table(results)}{_other_findings(results)}"
        f'<footer id="generator">alembic-preflight {escape(VERSION)}</footer>')
    page = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>alembic-preflight report'
            f'</title><style>{CSS}</style></head><body data-first="{escape(first)}">{body}'
            f'<script type="application/json" id="findings-data">{data}</script>'
            f"<script>{SCRIPT}</script></body></html>\n")
    return mask_passwords(page)


def write_html(path: Path, results: list[StageResult], nodes: list[Node], project: str,
               server: str | None = None, error: str | None = None) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(build_html(results, nodes, project, server, error), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the HTML report to {path}: {exc.strerror}") from None
