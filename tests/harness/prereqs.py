"""What tests do when something they need is missing: skip locally, fail in CI."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def skip_or_fail(reason: str) -> None:
    """A missing prerequisite skips a local run; in CI (CI=true) it fails, never a silent skip."""
    if in_ci():
        pytest.fail(f"CI=true, but {reason}")
    pytest.skip(reason)
