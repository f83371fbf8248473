"""The suite's version: pyproject.toml's `version`, the one place it is written.

An installed copy (wheel, pipx, `pip install -e`) reads it from its distribution's metadata;
a source checkout run without installing (PYTHONPATH, a copied tree) reads pyproject.toml
beside the packages, so `--version` and the reports never print a stale or made-up number.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

DISTRIBUTION = "alembic-preflight"
_PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def _version() -> str:
    if _PYPROJECT.is_file():
        # A checkout: its own pyproject.toml wins over whatever copy is installed elsewhere.
        try:
            project = tomllib.loads(_PYPROJECT.read_text(encoding="utf-8")).get("project", {})
        except (OSError, tomllib.TOMLDecodeError):
            project = {}
        if project.get("name") == DISTRIBUTION and isinstance(project.get("version"), str):
            return project["version"]
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


VERSION = _version()
