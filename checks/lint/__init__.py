"""Lint: risky migrations caught before they run, from each revision's operations and SQL.

The names are loaded on first use: the process that only grounds lint's result in what the
fresh stage measured (lint itself ran in a worker) reads the settings, not the SQL parser."""

from __future__ import annotations

import importlib

_WHERE = {"lint_project": "checks.lint.lint", "rule_hits": "checks.lint.lint", "RULES": "checks.lint.rules",
          "Rule": "checks.lint.rules", "LintSettings": "checks.lint.settings",
          "parse_lint_settings": "checks.lint.settings"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
