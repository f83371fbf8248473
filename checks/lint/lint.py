"""Lint a whole history: capture it offline, apply the rules, then settings and suppressions."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from pglast.parser import ParseError

from checks.lint.capture import Capture, capture, operation_line
from checks.lint.operations import empty_downgrade, schema_and_data, vague_message
from checks.lint.rules import ENV_OFFLINE_FIX, RULES, Hit
from checks.lint.settings import Allow, LintSettings
from checks.lint.sql import SqlReader
from checks.lint.squawk import squawk_hits
from checks.lint.suppress import inline_allows
from checks.project.policies import no_downgrades
from checks.project.project import Project
from checks.project.source_lines import def_line
from checks.result import Finding, Severity
from harness.server import Endpoint

_LEVELS = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}


def rule_hits(project: Project, settings: LintSettings, endpoint: Endpoint | None = None,
              only: Collection[str] | None = None, from_base: bool = False) -> tuple[list[Hit], Capture]:
    """Every rule hit over the history, in history order, before settings apply; with
    `only`, the hits of those revisions (and env.py's). The others are still run and their
    SQL read, as far as the transaction state they leave matters. `from_base` starts the
    run at the first of `only`, as `alembic upgrade` runs on a database at its parent."""
    order = project.upgrade_order()
    if from_base and only is not None:
        first = next((index for index, script in enumerate(order) if script.revision in only), len(order))
        order = order[first:]
    up = capture(project, order, endpoint=endpoint, reported=only)
    hits: list[Hit] = []
    if up.env_error:
        hits.append(Hit("offline-unsupported", None, "env.py", up.env_error))
    # A project that writes no downgrades on purpose has nothing for empty-downgrade to judge.
    downgrades = no_downgrades(project.settings, project.script) is None
    reader = SqlReader(up.version_table, up.preamble)
    # Without env.py, nobody emitted BEGIN; Alembic's default is one transaction.
    reader.in_transaction = bool(up.env_error)
    for item in up.revisions:
        revision = item.script.revision
        if not item.reported:
            reader.follow(item.sql)
            continue
        if item.error:
            hits.append(Hit("offline-unsupported", revision, Path(item.script.path).name, item.error))
        before = len(reader.hits)
        try:
            reader.read(revision, item.sql)
        except ParseError as exc:
            hits.append(Hit("sql-unparsable", revision, Path(item.script.path).name, str(exc)))
        hits += reader.hits[before:]
        hits += schema_and_data(item)
        hits += empty_downgrade(item, up.downgrades.get(revision)) if downgrades else []
        hits += vague_message(item.script)
        hits += squawk_hits(revision, item.sql, settings.squawk)
    return _unique(hits), up


def lint_project(project: Project, settings: LintSettings, strict: bool = False,
                 endpoint: Endpoint | None = None, only: Collection[str] | None = None,
                 from_base: bool = False) -> list[Finding]:
    """strict (or lint.strict in the settings) turns warnings into errors; `endpoint` is
    the server under test, whose URL env.py sees in offline mode; `only` limits the report
    to these revisions (the whole history is still run: its SQL is one session, unless
    `from_base`: see rule_hits)."""
    strict = strict or settings.strict
    hits, up = rule_hits(project, settings, endpoint, only, from_base)
    scripts = {c.script.revision: c.script for c in up.revisions
               if only is None or c.script.revision in only}
    captured = up.by_id()
    findings: list[Finding] = []
    allows = list(settings.allow)
    for revision, script in scripts.items():
        inline, problems = inline_allows(script.path, revision)
        allows += inline
        for problem in problems:
            unknown = "unknown rule code" in problem.message
            findings.append(Finding(
                Severity.ERROR if unknown else Severity.WARNING,
                "unknown-rule" if unknown else "suppression-without-reason", problem.message,
                revision=revision, object=", ".join(problem.codes), file=script.path, line=problem.line,
                hint=(f"valid codes: {', '.join(RULES)}" if unknown else
                      "write it as `# verify: allow CODE -- why this is safe here`")))
    for hit in hits:
        finding = _finding(hit, scripts.get(hit.revision), settings, allows, strict)
        if finding is not None:
            item = captured.get(hit.revision)
            if item is not None:
                finding.file = item.script.path
                finding.line = hit.line or operation_line(item, hit.offset) or def_line(
                    item.script.path, "upgrade")
            findings.append(finding)
    return findings


def _finding(hit: Hit, script, settings: LintSettings, allows: list[Allow],
             strict: bool) -> Finding | None:
    level = settings.severity.get(hit.code, "warning")
    if level == "off":
        return None
    message = _message(hit, script)
    rule = RULES.get(hit.code)
    hint = rule.fix if rule else None
    if hit.code == "offline-unsupported" and hit.revision is None:
        hint = ENV_OFFLINE_FIX
    allow = next((a for a in allows if hit.revision and a.covers(hit.code, hit.revision, hit.object)), None)
    if allow is not None:
        return Finding(Severity.INFO, hit.code, f"{message} [suppressed in {allow.source}: {allow.reason}]",
                       revision=hit.revision, object=hit.object, hint=hint)
    severity = _LEVELS[level]
    if strict and severity is Severity.WARNING:
        severity = Severity.ERROR
    return Finding(severity, hit.code, message, revision=hit.revision, object=hit.object, hint=hint)


def _message(hit: Hit, script) -> str:
    where = Path(script.path).name if script is not None else "env.py"
    rule = RULES.get(hit.code)
    if rule is None:  # a squawk rule
        return f"{where}: {hit.code} on {hit.object}: {hit.detail}"
    subject = f" ({hit.object})" if hit.object and hit.object != where else ""
    seen = f" [{hit.detail}]" if hit.detail else ""
    return f"{where} {rule.what}{subject}; {rule.why}{seen}"


def _unique(hits: list[Hit]) -> list[Hit]:
    seen: set[tuple] = set()
    kept = []
    for hit in hits:
        key = (hit.code, hit.revision, hit.object)
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept
