"""Lint: risky migrations caught before they run, from each revision's operations and SQL."""

from checks.lint.lint import lint_project, rule_hits
from checks.lint.rules import RULES, Rule
from checks.lint.settings import LintSettings, parse_lint_settings

__all__ = ["RULES", "LintSettings", "Rule", "lint_project", "parse_lint_settings", "rule_hits"]
