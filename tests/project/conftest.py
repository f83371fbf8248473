"""A project's own virtual environment, for the tests that run the project's code in it."""

from __future__ import annotations

import subprocess
import sysconfig
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


@pytest.fixture(scope="session")
def shared_python(tmp_path_factory) -> Path:
    """A project's own virtual environment that sees the packages the suite has (Flask,
    SQLAlchemy 2, psycopg) through a .pth file: a process of its own, as with any --python,
    for the shapes that need more than the oldest stack."""
    folder = tmp_path_factory.mktemp("shared-stack") / "venv"
    venv.create(folder, with_pip=False, symlinks=True)
    python = folder / "bin" / "python"
    own_site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
    Path(own_site, "suite-packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python
