"""The checklist's stages, in the order they run. Each module's `check(run)` returns findings."""

from checks.stages import drift, files, fresh, heads, lint, recovery, roundtrip

STAGES = {
    "files": files.check,
    "heads": heads.check,
    "fresh": fresh.check,
    "drift": drift.check,
    "roundtrip": roundtrip.check,
    "recovery": recovery.check,
    "lint": lint.check,
}

# What a run does when no stage is named. The drills restore backups and race processes:
# seconds per run that every commit need not pay; `--stage recovery` (nox -s recovery) runs them.
OPT_IN = ("recovery",)
DEFAULT_STAGES = [name for name in STAGES if name not in OPT_IN]

# Stages that read the revision files only: when a run has no others, no server is started
# (a pre-commit hook on a machine without PostgreSQL).
FILES_ONLY = ("files", "heads", "lint")


def needs_server(names: list[str]) -> bool:
    return any(name not in FILES_ONLY for name in names)
