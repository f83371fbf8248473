"""The project's process on the oldest stack the suite supports there (SQLAlchemy 1.3,
Alembic 1.5, psycopg2), in a virtual environment of the project's own that the suite
never installs into: the run leaves it exactly as it was."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from agent_runs import walk_two_revisions


def pip_freeze(python: Path) -> str:
    return subprocess.run([python, "-m", "pip", "freeze"], capture_output=True, text=True, check=True).stdout


def everything_in(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*"))
            if path.is_file()}


def test_the_old_stack_runs_the_history_and_is_left_as_it_was(old_python, tmp_path, pg_server, make_database):
    environment = old_python.parent.parent
    before, frozen = everything_in(environment), pip_freeze(old_python)
    walked = walk_two_revisions(str(old_python), tmp_path / "p", pg_server, make_database())
    assert (walked.facts["sqlalchemy"], walked.facts["alembic"], walked.facts["default_driver"]) == \
        ("1.3.24", "1.5.8", "psycopg2")
    assert walked.result == {"started": True, "done": 2, "error": None}
    assert walked.columns_after_each_step == [2, 3] and walked.recorded == [("0002",)]
    # Nothing of the suite's was installed or left there, and nothing else changed.
    assert pip_freeze(old_python) == frozen
    assert everything_in(environment) == before
    own = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    for package in ("projectside", "checks", "harness", "psycopg"):
        found = subprocess.run([old_python, "-c", f"import {package}"], capture_output=True, cwd=tmp_path,
                               env=own)
        assert found.returncode != 0, f"{package} is importable in the project's environment"
