"""What a project needs that is not there: a package, a folder on sys.path, a logging handler.

An env.py that cannot import something fails before any migration runs, and the raw
error ("No module named 'rich'") hides the fix. Four causes are common and each has its
own fix: the database driver the project's URL names, a dev dependency used only by
alembic.ini's logging config (a RichHandler, say), a package that is not installed in the
suite's Python, and a folder of the project's own that `alembic` would import from
prepend_sys_path but the ini does not list.
"""

from __future__ import annotations

import configparser
import importlib.util
from pathlib import Path

from checks.project import driver
from checks.project.source_lines import traceback_frames

# Folders a project's own packages do not live in.
_SKIP = {"node_modules", "site-packages", "__pycache__", "venv", "env"}


def explain(exc: BaseException, project) -> str | None:
    """One line naming what is missing from `project` (a checks.project.project.Project) and
    how to provide it, or None if it is not that."""
    root, ini_path = project.root, project.ini_path
    missing, full = _missing_module(exc, project.env.paths)
    # Before the logging config: a handler's module may build the app's engine on import.
    named = driver.missing_driver(missing, project_frame(exc, root) or "env.py", project.drivers.facts) \
        if missing else None
    if named:
        return named
    if _raised_by_logging_config(exc):
        section = _logging_section(ini_path, missing) if missing else None
        if missing and section:
            return (f"env.py's logging config needs the package `{missing}` ({ini_path.name} [{section}]); "
                    f"pip install {missing}, or change the handler class in {ini_path.name}")
        if missing:
            # Not alembic.ini's: a dictConfig the app's own code (or env.py) runs.
            caller = project_frame(exc, root) or "env.py"
            return (f"the logging config set up at {caller} needs the package `{missing}`; "
                    f"pip install {missing}, or change the handler class there")
        gist = (str(exc).strip().splitlines() or [""])[0]
        return (f"env.py's logging config failed: {type(exc).__name__}: {gist}; fix the "
                f"[handler_*] and [formatter_*] sections of {ini_path.name}, or the logging "
                "setup env.py calls")
    importer = _importer(exc, root)
    if full:
        return (f"{importer} imports `{full}`, which `{full.split('.')[0]}` does not have "
                f"(ModuleNotFoundError: No module named {full!r}); check the name, the installed "
                "version of that package, or a file the project expects to be generated first")
    if not missing:
        return None
    folder = _own_folder(missing, root)
    if folder is not None:
        relative = folder.relative_to(root).as_posix() or "."
        return (f"{importer} imports `{missing}`, which is the project's {root / relative / missing} "
                f"but not on sys.path; add `prepend_sys_path = {relative}` to the [alembic] section "
                f"of {ini_path.name} (as `alembic` needs it too), or sys_path = [\"{relative}\"] "
                "to the suite's settings")
    return (f"{importer} needs the package `{missing}` (ModuleNotFoundError: No module named "
            f"{missing!r}), which is not installed beside the suite; "
            f"pip install {missing} (or the project's requirements) into the Python that runs "
            "the suite, or add the folder that holds it to sys_path in the suite's settings")


def _missing_module(exc: BaseException, paths: list[str]) -> tuple[str | None, str | None]:
    """(the top-level package that is not there, None), or (None, the dotted name) when the
    package is there and only a module inside it is missing."""
    remote = getattr(exc, "missing_module", None) if hasattr(exc, "remote_frames") else None
    if remote:
        # Raised in the project's process: the name is the first part Python could not find.
        return (remote, None) if "." not in remote else (None, remote)
    seen = exc
    while seen is not None:
        if isinstance(seen, ModuleNotFoundError) and seen.name:
            top = seen.name.split(".")[0]
            if top != seen.name and _importable(top, paths):
                return None, seen.name
            return top, None
        seen = seen.__cause__ or seen.__context__
    return None, None


def _importable(name: str, paths: list[str]) -> bool:
    if any((Path(p) / name).is_dir() or (Path(p) / f"{name}.py").is_file() for p in paths):
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _raised_by_logging_config(exc: BaseException) -> bool:
    return any(Path(file).parts[-2:] == ("logging", "config.py") for file, _ in traceback_frames(exc)[0])


def _logging_section(ini_path: Path, module: str) -> str | None:
    """The [handler_x] or [formatter_x] section whose class comes from `module`."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(ini_path)
    except configparser.Error:
        return None
    for section in parser.sections():
        if section.startswith(("handler_", "formatter_")):
            value = parser.get(section, "class", fallback="") + " " + parser.get(section, "args", fallback="")
            if module in value.replace("(", " ").replace(".", " ").split():
                return section
    return None


def project_frame(exc: BaseException, root: Path) -> str | None:
    """'app/models.py line 3': the innermost frame of the traceback inside the project."""
    frames = [(file, line) for file, line in traceback_frames(exc)[0] if file.startswith(str(root))]
    if not frames:
        return None
    return f"{Path(frames[-1][0]).relative_to(root).as_posix()} line {frames[-1][1]}"


def _importer(exc: BaseException, root: Path) -> str:
    """'env.py' or 'app/models.py line 3': the project file whose import failed."""
    return project_frame(exc, root) or "env.py"


def _own_folder(module: str, root: Path) -> Path | None:
    """The project folder (root, or one level down: src/, backend/) that holds `module`."""
    candidates = [root] + sorted(p for p in root.iterdir()
                                 if p.is_dir() and not p.name.startswith(".") and p.name not in _SKIP)
    for folder in candidates:
        if (folder / module / "__init__.py").is_file() or (folder / f"{module}.py").is_file():
            return folder
    return None
