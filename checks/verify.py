"""Run the chosen stages in order and collect one result per stage."""

from __future__ import annotations

import time
import traceback

from checks.errors import USAGE_ERRORS, ConfigError, MigrationError, StageError
from checks.project.project import first_line
from checks.project.source_lines import place
from checks.result import Finding, Severity, StageResult, Status
from checks.run import Run
from checks.stages import DEFAULT_STAGES, FILES_ONLY, STAGES, check
from checks.stages.skips import StageSkipped
from harness.errors import DatabaseInUse


def validate_stage_names(names: list[str], where: str = "") -> list[str]:
    """`names` in checklist order (every default stage when empty); `where` names the
    setting they came from, for the message about an unknown one."""
    unknown = [n for n in names if n not in STAGES]
    if unknown:
        raise ConfigError(f"{where}unknown stage(s) {', '.join(unknown)}; valid stages: {', '.join(STAGES)}")
    # Run in checklist order whatever order they were given in.
    return [n for n in STAGES if n in names] if names else list(DEFAULT_STAGES)


def run_stages(run: Run, names: list[str], on_result=None) -> list[StageResult]:
    results: list[StageResult] = []
    selected = validate_stage_names(names)
    # The round trip and the recovery drills compare against the schema after each revision.
    run.snapshot_every_step = bool({"roundtrip", "recovery"} & set(selected))
    # The drills clone the migrated database; without them the round trip may use it up, and
    # walk its lower revisions in a worker beside the build (the drills need every record).
    run.keep_build_database = "recovery" in selected
    if "roundtrip" in selected and "recovery" not in selected:
        from checks.stages.roundtrip import start_split

        run.split_planner = start_split
    if "merge-order" in selected:
        from checks.stages.merge_order import plan_checkpoints

        run.checkpoint_planner = plan_checkpoints
    builds = bool({"fresh", "merge-order", "drift", "roundtrip"} & set(selected))
    if builds:
        # Something builds the history: lint, which needs no database, runs beside it, and
        # so does building the models' schema, which needs none of the history's.
        run.run_ahead = tuple(name for name in ("lint",) if name in selected)
        run.build_models_ahead = "drift" in selected and run.project.process is None
        # The workers start before the files stage, which then runs beside them.
        run.start_workers()
    try:
        _run_in_turn(run, selected, results, on_result)
    finally:
        run.stop_workers()
    return results


def _run_in_turn(run: Run, selected: list[str], results: list[StageResult], on_result) -> None:
    files_failed = False
    held, held_by = None, None  # a database of the run another role's session keeps
    for name in selected:
        started = time.monotonic()
        if files_failed:
            result = StageResult(name, Status.SKIP, [Finding(
                Severity.INFO, "skipped", "the revision files have errors; fix the files stage first")])
        elif held is not None and name not in FILES_ONLY:
            result = StageResult(name, Status.SKIP, [Finding(
                Severity.INFO, "skipped", f"not run: {held} (see the {held_by} stage)")])
        elif run.project.limits is not None and run.project.limits.run_expired():
            result = StageResult(name, Status.ERROR, [Finding(
                Severity.ERROR, "run-timeout",
                f"not run: the run went past {run.project.limits.run_limit_name()}",
                hint="raise the limit, or run fewer stages (--stage)")])
        else:
            # Without the fresh stage, the first stage a failed build stops reports the failure.
            build_reported = any(f.code == "upgrade-failed" for r in results for f in r.findings)
            result = _run_one(run, name, started, report_build=not build_reported)
            if name == "lint" and result.status is not Status.ERROR:
                # Lint runs last: the fresh stage's measurements, if any, are in by now.
                from checks.stages.lint import grounded

                result = grounded(run, result, results)
        run.progress.clear()
        place(result.findings, run.project.root, lambda revision: _revision_path(run, revision))
        files_failed = files_failed or (name == "files" and result.status is Status.FAIL)
        if held is None and any(f.code == "database-in-use" for f in result.findings):
            held, held_by = "another role's session holds a database of this run", name
        results.append(result)
        if on_result:
            on_result(result)


def _revision_path(run: Run, revision: str) -> str | None:
    try:
        with run.project.env.active():
            script = run.project.script.get_revision(revision)
    except Exception:  # noqa: BLE001 - a history Alembic cannot load: the finding says so
        return None
    return script.path if script is not None else None


def _run_one(run: Run, name: str, started: float, report_build: bool) -> StageResult:
    if name in run.run_ahead or (name == "drift" and run.build_models_ahead):
        from checks.parallel.segments import collect_side

        collect_side(run)
    if name in run.ran_ahead:
        # Run by a worker while this process built and walked (or here while the worker
        # walked); its own time is shown.
        findings, summary, seconds, where = run.ran_ahead.pop(name)
        return StageResult.from_findings(name, findings, seconds,
                                         summary=f"{summary}; {where}" if summary else where)
    try:
        findings = check(name)(run)
    except StageSkipped as skipped:
        if skipped.build_failed and report_build:
            # Nothing else reports the revision that fails: `--stage drift` alone on a
            # history that does not apply must not end "OK".
            return StageResult(name, Status.ERROR, check("fresh")(run), time.monotonic() - started)
        return StageResult(name, Status.SKIP, [skipped.finding], time.monotonic() - started)
    except DatabaseInUse as exc:
        # Another role's session in one of the run's databases: this run failed, and says
        # whose session it was; it is neither the suite's bug nor the project's setting.
        return StageResult(name, Status.ERROR, [Finding(
            Severity.ERROR, "database-in-use", str(exc),
            hint="a session of another role joined a database of this run; find who opens it (a "
                 "monitoring agent, an IDE, a revision connecting as another user) and run again")],
            time.monotonic() - started)
    except USAGE_ERRORS as exc:
        # The project cannot be run as configured, or the server not used as given (a role
        # short of a privilege): this stage says so and the others still report what they
        # can; the command exits 2 once the report is written.
        run.usage_errors.append(exc)
        return StageResult(name, Status.ERROR, [Finding(Severity.ERROR, "project-error", str(exc))],
                           time.monotonic() - started)
    except MigrationError as exc:
        return StageResult(name, Status.ERROR, [Finding(
            Severity.ERROR, "stage-error", str(exc), revision=exc.revision, object=exc.path,
            file=exc.path, line=exc.line)],
            time.monotonic() - started)
    except StageError as exc:
        return StageResult(name, Status.ERROR, [Finding(
            Severity.ERROR, exc.code, str(exc), revision=exc.revision, object=exc.object, hint=exc.hint)],
            time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - one stage's crash must not take the report with it
        # Our bug or an unforeseen project shape: the stage says so in one line, the other
        # stages still run, and the traceback goes to the project log for the bug report.
        run.project.env.output.write(f"\nalembic-preflight: the {name} stage crashed:\n"
                                     f"{traceback.format_exc()}")
        return StageResult(name, Status.ERROR, [Finding(
            Severity.ERROR, "stage-crashed",
            f"the {name} stage stopped on an unexpected {type(exc).__name__}: {first_line(exc)}",
            hint="a bug in alembic-preflight, or a project shape it does not know yet: the traceback is "
                 "in the project output log named at the end (on stderr with -v); please report it")],
            time.monotonic() - started)
    return StageResult.from_findings(name, findings, time.monotonic() - started,
                                     summary=run.summaries.get(name), deploy_risk=run.deploy_risk.get(name),
                                     rehearsal=run.rehearsal.get(name))
