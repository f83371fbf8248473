"""The diagnosis, section by section, over a project, its database and a throwaway server."""

from __future__ import annotations

import functools
import time

from checks.doctor.fixes import fix_command
from checks.doctor.handmade import handmade_findings
from checks.doctor.history import History, build_history, schema_at
from checks.doctor.live import LiveState, read_live
from checks.doctor.match import best_match, match_findings
from checks.doctor.models import models_findings
from checks.doctor.revision import Position, locate, revision_findings
from checks.doctor.target import Target, connect
from checks.project.project import Project
from checks.result import Finding, Severity, StageResult
from checks.run import Run
from harness.server import Server


def diagnose(project: Project, target: Target, server: Server) -> list[StageResult]:
    run = Run(project, server)
    started = time.monotonic()
    # Built first: env.py's run tells which version table (and schema) to read.
    history = build_history(run)
    options = project.captured.options
    with connect(target) as conn:
        live = read_live(conn, project.captured.version_table, options.get("version_table_schema"))
    ignore = frozenset(project.settings.ignore)
    position = locate(project.script, history.order, live.versions)
    command = functools.partial(fix_command, project, target)
    sections = [_section("revision", revision_findings(position, live.version_table, command), started)]
    started = time.monotonic()
    if position.known:
        sections.append(_section("migrations", _handmade(run, history, position, live, ignore), started))
    else:
        sections.append(_section("match", _match(history, live, ignore, command), started))
    started = time.monotonic()
    # The extensions the models may need come from what the migrations install.
    extensions_from = next(reversed(history.states.values()), live.snapshot)
    sections.append(_section("models", models_findings(run, live.snapshot, ignore, extensions_from),
                             started))
    return sections


def _handmade(run: Run, history: History, position: Position, live: LiveState,
              ignore: frozenset[str]) -> list[Finding]:
    at = schema_at(run, history, position.applied, ", ".join(position.versions) or "base")
    if at is None:
        return [Finding(Severity.WARNING, "not-compared",
                        "the migrations fail before reaching the database's revision on an empty "
                        "database, so hand-made objects could not be looked for")]
    return handmade_findings(at[0], at[1], live.snapshot, ignore)


def _match(history: History, live: LiveState, ignore: frozenset[str], command) -> list[Finding]:
    match = best_match(history, live.snapshot, ignore)
    if live.versions is None and match is not None and match.revision == "base" and not match.differences:
        return [Finding(Severity.WARNING, "empty-database",
                        "the database is empty: nothing was ever migrated here", hint=command("upgrade"))]
    return match_findings(match, history, command)


def _section(name: str, findings: list[Finding], started: float) -> StageResult:
    return StageResult.from_findings(name, findings, time.monotonic() - started)
