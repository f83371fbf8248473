"""Copies of the lint fixture projects that a test may edit, and lint run in-process."""

from __future__ import annotations

import shutil
from pathlib import Path

from cli_support import FIXTURES

from checks.lint import lint_project, parse_lint_settings
from checks.project.project import Project
from checks.project.settings import load_settings


def copy_fixture(tmp_path: Path, name: str) -> Path:
    """The fixture project `name` (with the shared env it points at) under tmp_path."""
    shutil.copytree(FIXTURES / "lint", tmp_path / "lint",
                    ignore=shutil.ignore_patterns("__pycache__"), dirs_exist_ok=True)
    return tmp_path / "lint" / name


def lint(root: Path, strict: bool = False) -> list:
    settings = load_settings(root)
    project = Project(root, settings=settings)
    return lint_project(project, parse_lint_settings(settings.lint, settings.source), strict)


def codes(findings) -> list[tuple[str, str | None, str]]:
    return [(f.code, f.revision, f.severity.value) for f in findings]
