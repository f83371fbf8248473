"""A project's own virtual environment, for the tests that run the project's code in it."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest
from agent_runs import OLDEST_STACK


@pytest.fixture(scope="session")
def old_python(tmp_path_factory) -> Path:
    """A project's own virtual environment with the oldest supported stack (SQLAlchemy 1.3,
    Alembic 1.5, psycopg2), which the suite never installs into."""
    folder = tmp_path_factory.mktemp("old-stack") / "venv"
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *OLDEST_STACK],
                   check=True, timeout=600)
    return python
