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
