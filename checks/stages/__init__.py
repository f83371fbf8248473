"""The checklist's stages, in the order they run. Each module's `check(run)` returns findings.

A stage's module is imported when the stage runs, so `--stage files` pays for neither the
lint's SQL parser nor the recovery drills.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

STAGES = ("files", "heads", "fresh", "merge-order", "drift", "rolling", "roundtrip", "recovery", "rehearse",
          "lint", "squash")

# What a run does when no stage is named. The drills restore backups and race processes:
# seconds per run that every commit need not pay; `--stage recovery` (nox -s recovery) runs them.
# `--stage rehearse` (nox -s rehearse) fills tables with rows to time the locks: as long as
# its rehearse_budget. The rolling check needs a previous release to replay: it joins the
# default stages when one is named (--previous-release, or --git-base's merge-base); squash
# joins them with --squash-check REF.
OPT_IN = ("recovery", "rehearse", "rolling", "squash")
DEFAULT_STAGES = [name for name in STAGES if name not in OPT_IN]

# Stages that read the revision files only: when a run has no others, no server is started
# (a pre-commit hook on a machine without PostgreSQL).
FILES_ONLY = ("files", "heads", "lint")


def adding(stages: list[str], name: str) -> list[str]:
    """`stages` and `name`, in checklist order."""
    return [stage for stage in STAGES if stage in stages or stage == name]


def needs_server(names: list[str]) -> bool:
    return any(name not in FILES_ONLY for name in names)


def check(name: str) -> Callable:
    """The `check(run)` of the stage called `name` (one of STAGES)."""
    return importlib.import_module(f"checks.stages.{name.replace('-', '_')}").check
