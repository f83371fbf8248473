"""Which Python runs the project's code: the one its own `alembic` command runs in.

Chosen in this order: `--python PATH` or the `python` setting; the virtual environment
that is active ($VIRTUAL_ENV); the project's own `.venv` or `venv` folder; and last the
suite's own interpreter, for a project installed beside the suite.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from checks.errors import ConfigError

_FOLDERS = (".venv", "venv")
_BIN = "Scripts" if os.name == "nt" else "bin"


@dataclass(frozen=True)
class Interpreter:
    path: str
    source: str  # why this one: "--python", "the python setting", "$VIRTUAL_ENV", ".venv", "the suite's own"


def _in_environment(folder: Path) -> Path | None:
    for name in ("python", "python3"):
        candidate = folder / _BIN / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def choose(root: Path, given: str | None = None, setting: str | None = None,
           setting_source: str = "defaults") -> Interpreter:
    if given or setting:
        raw = Path(given or setting).expanduser()
        where = "--python" if given else f"the python setting ({setting_source})"
        path = raw if raw.is_absolute() else (Path.cwd() / raw if given else root / raw)
        if path.is_dir():  # a virtual environment's folder names its interpreter
            path = _in_environment(path) or path
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise ConfigError(f"{where}: {raw} is not a Python interpreter; give the path of the project's "
                              "python (e.g. .venv/bin/python) or of its virtual environment's folder")
        return Interpreter(str(path), where)
    active = os.environ.get("VIRTUAL_ENV")
    if active:
        found = _in_environment(Path(active))
        if found is not None:
            return Interpreter(str(found), "$VIRTUAL_ENV")
    for folder in _FOLDERS:
        found = _in_environment(root / folder)
        if found is not None:
            return Interpreter(str(found), folder)
    return Interpreter(sys.executable, "the suite's own")


def is_own(python: str) -> bool:
    """Whether `python` is the interpreter of the suite's own environment (a project
    installed beside the suite): then the project's code runs in the suite's process."""
    path = Path(python).absolute()
    try:
        if path.resolve() == Path(sys.executable).resolve() and sys.prefix == sys.base_prefix:
            return True  # no virtual environment: the one interpreter
    except OSError:
        return False
    # A virtual environment's python links to its base one: the environment is what counts.
    return path.parent.parent == Path(sys.prefix).absolute() or path == Path(sys.executable).absolute()
