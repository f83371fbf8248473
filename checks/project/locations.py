"""Where Alembic looks: alembic.ini itself, the scripts, the revisions, and sys.path.

Alembic resolves every relative path in alembic.ini against the working directory, and
people run it from the project folder; the suite runs the project from there too (see
ProjectEnvironment.active), so a relative path means to the suite what it means to
`alembic`. The one fallback is the ini's own folder, for a path that exists only there:
it is where someone who keeps alembic.ini elsewhere runs `alembic` from. A script_location
that holds env.py only when read from there (`.` in the alembic.ini Flask-Migrate keeps in
the scripts folder) is read from there too.

On sys.path, Alembic's CLI adds only prepend_sys_path (the `alembic` console script does
not put the working directory there), and the suite adds only that plus its own
`sys_path` setting. Putting the project folder first would shadow installed packages of
the same name (an `app.py` beside an installed `app` package, say).
"""

from __future__ import annotations

import configparser
import os
import re
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from checks.errors import ProjectError
from checks.project.settings import Settings
from checks.textfile import read_text, starts_with_bom

# Alembic's legacy split of prepend_sys_path, for inis without path_separator.
_LEGACY_SPLIT = re.compile(r", *| +|:")
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}


def find_ini(root: Path, given: str | None, settings: Settings) -> Path:
    """--alembic-ini (or the alembic_ini setting): relative to the project, else to the cwd."""
    raw = Path(given or settings.alembic_ini)
    candidates = [raw] if raw.is_absolute() else [root / raw, Path.cwd() / raw]
    if not given and settings.alembic_ini == "alembic.ini":
        candidates.append(root / "migrations" / "alembic.ini")  # where Flask-Migrate puts it
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    found = _inis_below(root) if not given else []
    seen = f" (found {', '.join(found)})" if found else ""
    raise ProjectError(f"no alembic.ini at {candidates[0]}{seen}: {_ini_source(given, settings)}, "
                       "or run `alembic init migrations` to create one")


def _ini_source(given: str | None, settings: Settings) -> str:
    """Where the missing ini's path came from, and how to give the right one."""
    if given:
        return (f"--alembic-ini {given} names no file (read from the project folder, then the "
                "working directory); pass the path of the project's alembic.ini")
    if settings.alembic_ini != "alembic.ini":
        return (f"the setting alembic_ini = {settings.alembic_ini!r} in {settings.source} names no file; "
                "fix it (relative to the project folder), or pass --alembic-ini FILE")
    return (f"point --project at the folder that holds it, pass --alembic-ini FILE, or set alembic_ini "
            f"in {settings.home()} (relative to the project folder)")


# Folders no project keeps its own alembic.ini in: environments, caches, dependencies.
_NOT_THE_PROJECTS = {"node_modules", "site-packages", "__pycache__", "build", "dist"}


def _inis_below(root: Path, depth: int = 5, most: int = 3) -> list[str]:
    """alembic.ini files a few folders down (conf/, app/migrations/), relative to `root`."""
    found: list[str] = []
    for folder, subfolders, files in os.walk(root):
        level = len(Path(folder).relative_to(root).parts)
        subfolders[:] = sorted(name for name in subfolders if level < depth and not name.startswith(".")
                               and name not in _NOT_THE_PROJECTS and not name.endswith("venv"))
        if level and "alembic.ini" in files:
            found.append(str(Path(folder, "alembic.ini").relative_to(root)))
            if len(found) == most:
                break
    return found


def read_ini(ini_path: Path, root: Path, section: str = "alembic") -> Config:
    """alembic.ini parsed, or a message that says what is wrong with it.

    Like the `alembic` command, it also reads [tool.alembic] in the pyproject.toml of the
    folder it runs in (Alembic 1.16 and later; earlier versions have no such setting).
    """
    _check_text(ini_path)
    toml = root / "pyproject.toml"
    try:
        cfg = (Config(str(ini_path), ini_section=section, toml_file=str(toml)) if toml.is_file()
               else Config(str(ini_path), ini_section=section))
    except TypeError:
        cfg = Config(str(ini_path), ini_section=section)
    try:
        parsed = cfg.file_config
    except configparser.Error as exc:
        gist = str(exc).strip().splitlines()[0]
        raise ProjectError(f"{ini_path} is not a valid ini file ({gist}); fix it, "
                           "or pass --alembic-ini FILE for another one") from None
    section = cfg.config_ini_section
    candidates = [name for name in parsed.sections() if parsed.has_option(name, "script_location")]
    if candidates and section not in candidates:
        # Several environments in one file, picked with `alembic -n NAME` (an [alembic]
        # section may still be there, holding only shared options).
        missing_what = "no script_location" if parsed.has_section(section) else "no such section"
        raise ProjectError(
            f"{ini_path}: [{section}] has {missing_what}; its Alembic environments are "
            f"{', '.join(candidates)}: set ini_section = \"{candidates[0]}\" in the suite's settings "
            "(what `alembic -n` picks), one run per environment")
    if not parsed.has_section(section):
        raise ProjectError(f"{ini_path} has no [{section}] section, so it is not an "
                           "alembic.ini; pass --alembic-ini FILE for the project's alembic.ini")
    try:  # what `alembic` would stumble on when it reads an option: a bad %(name)s
        for name in parsed.options(section):
            parsed.get(section, name)
    except configparser.Error as exc:
        gist = str(exc).strip().splitlines()[0]
        raise ProjectError(f"{ini_path}: [{section}] {gist}; write a literal % as %%") from None
    return cfg


def _check_text(ini_path: Path) -> None:
    """alembic and logging read the ini as UTF-8 text: say so for a file they cannot read."""
    fix = "or pass --alembic-ini FILE for another one"
    read_text(ini_path, fix)
    if starts_with_bom(ini_path):
        raise ProjectError(f"{ini_path} starts with a byte-order mark (BOM), which alembic reads as text "
                           "before the first [section]; save it as UTF-8 without BOM")


def is_resource(location: str) -> bool:
    """`package:folder`, as Alembic reads it (a Windows drive letter is a path)."""
    return ":" in location and not os.path.isabs(location)


def resolve(location: str, root: Path, ini_dir: Path) -> str:
    """An absolute path for a relative one, as `alembic` run from the project folder sees it."""
    if is_resource(location) or os.path.isabs(location):
        return location
    for base in (root, ini_dir):
        if (base / location).exists():
            return str((base / location).resolve())
    return str(root / location)


def option(cfg: Config, name: str):
    """An [alembic] option from alembic.ini or, where Alembic reads it, pyproject.toml."""
    getter = getattr(cfg, "get_alembic_option", None)
    return getter(name) if getter is not None else cfg.get_main_option(name)


def script_location(cfg: Config, root: Path, ini_path: Path, settings: Settings) -> str:
    if settings.script_location:
        return resolve(settings.script_location, root, ini_path.parent)
    location = option(cfg, "script_location")
    if not location:
        # Flask-Migrate's alembic.ini has none: it lives inside the scripts folder.
        return str(ini_path.parent)
    resolved = resolve(location, root, ini_path.parent)
    beside_ini = ini_path.parent / location
    if (not is_resource(location) and not os.path.isabs(location)
            and not Path(resolved, "env.py").is_file() and (beside_ini / "env.py").is_file()):
        # `script_location = .` in an alembic.ini inside the scripts folder: `flask db` sets
        # the folder itself, so only read from the ini's folder does it name one with env.py.
        return str(beside_ini.resolve())
    return resolved


def split_paths(cfg: Config, value: str) -> list[str]:
    """Split prepend_sys_path the way Alembic does: by path_separator, else the legacy way."""
    name = cfg.get_main_option("path_separator")
    if name in _SEPARATORS:
        return [part.strip() for part in value.split(_SEPARATORS[name]) if part.strip()]
    return [part for part in _LEGACY_SPLIT.split(value) if part]


def prepend_sys_path(cfg: Config, root: Path) -> list[str]:
    """alembic.ini's prepend_sys_path, made absolute against the folder `alembic` runs in."""
    value = option(cfg, "prepend_sys_path")
    if not value:
        return []
    parts = value if isinstance(value, list) else split_paths(cfg, value)  # a list in pyproject.toml
    return [str((root / part).resolve()) for part in parts]


def sys_path(cfg: Config, root: Path, settings: Settings) -> list[str]:
    """Every folder the suite puts on sys.path for the project, first one first."""
    paths = prepend_sys_path(cfg, root)
    if not option(cfg, "script_location") and not settings.script_location:
        # A Flask-Migrate project runs under `flask db`, which puts the app's folder first.
        paths.append(str(root))
    paths += [str((root / p).resolve()) for p in settings.sys_path]
    return list(dict.fromkeys(paths))


def version_locations(script: ScriptDirectory, root: Path, ini_path: Path, settings: Settings) -> None:
    """Point the scripts at the revision folders, from the settings or from alembic.ini."""
    # Alembic 1.7 keeps None where later versions keep [].
    chosen = expand(settings.version_locations, root) or script.version_locations or []
    script.version_locations = [resolve(loc, root, ini_path.parent) for loc in chosen]
    found = script._version_locations
    if not any(Path(path).is_dir() for path in found):  # str paths before Alembic 1.15
        where = ", ".join(str(p) for p in found)
        raise ProjectError(
            f"no revision folder: {where} does not exist; set version_locations in {ini_path.name} "
            "(or version_locations in the suite's settings, when a wrapper sets them at run time), "
            "or script_location if the scripts folder is elsewhere; a project with no revisions "
            "yet needs the empty folder")


def expand(locations: list[str], root: Path) -> list[str]:
    """Glob patterns in the setting: plugin systems gather `plugins/*/alembic/versions` in code."""
    expanded: list[str] = []
    for location in locations:
        if any(char in location for char in "*?[") and not is_resource(location):
            expanded += sorted(str(path) for path in root.glob(location) if path.is_dir())
        else:
            expanded.append(location)
    return expanded


def explain_script_error(exc: BaseException, ini_path: Path, location: str) -> str:
    """Why the scripts folder could not be opened, with the setting that fixes it."""
    if isinstance(exc, ModuleNotFoundError) and is_resource(location):
        return (f"{ini_path}: script_location {location!r} (or version_locations) names the "
                f"package {exc.name!r}, which cannot be imported; add its folder to "
                "prepend_sys_path in alembic.ini or to sys_path in the suite's settings")
    if "Path doesn't exist" in str(exc):
        template = " (it looks like a template another tool fills in)" if re.search(r"[{$]", location) else ""
        return (f"{ini_path}: the scripts folder {location} does not exist{template}; fix script_location "
                "there (relative paths are read from the project folder, as `alembic` run there reads "
                "them), or, when that ini cannot be edited (an installed package's), set "
                "script_location in the suite's settings; or pass --alembic-ini FILE")
    return f"{ini_path}: cannot open the scripts folder {location}: {type(exc).__name__}: {exc}"
