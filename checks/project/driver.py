"""Which PostgreSQL driver each URL names: the one env.py is handed, and the suite's own.

env.py is handed the driver the project's own `alembic upgrade` would use: the one the
project names (env.py's imports, alembic.ini's sqlalchemy.url), else the one its SQLAlchemy
maps a bare `postgresql://` URL to (psycopg2 up to SQLAlchemy 2.0, psycopg from 2.1). A
revision can behave differently under another driver, so the suite does not pick its own.
Where that driver is not installed the project's own run would fail as well: env.py is
handed one that is, and the run says so. An async env.py needs an async driver. The
`driver` setting overrides all of this. The suite's own connections need a synchronous
driver, whatever env.py uses.

`gather` reads the facts in the project's environment (its SQLAlchemy, its packages);
`pick` is a plain function of them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy

from checks.errors import ConfigError, ProjectError
from projectside import facts as environment
from projectside.facts import DRIVER_MODULES as MODULES

# Driver name -> what to pip install for it.
PACKAGES = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary", "asyncpg": "asyncpg",
            "pg8000": "pg8000", "psycopg2cffi": "psycopg2cffi"}
SYNC_PREFERENCE = ("psycopg", "psycopg2", "pg8000", "psycopg2cffi")
ASYNC_PREFERENCE = ("psycopg", "asyncpg")  # psycopg 3 serves both ways

_INI_DRIVER = re.compile(r"^\s*postgres(?:ql)?\+(\w+)://", re.IGNORECASE)
_IMPORTS = re.compile(r"^\s*(?:import|from)\s+(psycopg2|asyncpg|pg8000|psycopg)\b", re.MULTILINE)
_ASYNC_ENV = re.compile(r"async_engine_from_config|create_async_engine|AsyncEngine|\.run_sync\(")


# What a DBAPI is and whether it loads is the project's environment's to say: the same
# functions serve its own process (projectside) and this one.
has_dialect = functools.cache(environment.has_dialect)
usable = functools.cache(environment.usable)
sqlalchemy_default = environment.default_driver


@dataclass(frozen=True)
class Facts:
    """What the choice depends on, all of it read in the project's environment."""

    sqlalchemy: str  # its version, for messages
    default: str | None  # the driver it maps a bare postgresql:// URL to
    dialects: frozenset[str]  # the drivers it has a dialect for
    usable: frozenset[str]  # those whose DBAPI module imports too
    ini_url: str | None = None  # alembic.ini's sqlalchemy.url, uninterpolated
    env_source: str = ""  # env.py's text
    python: str = "the Python that runs the suite"  # where a missing driver is to be installed


def gather(ini_url: str | None, env_py: Path | None) -> Facts:
    return Facts(sqlalchemy.__version__, sqlalchemy_default(), frozenset(filter(has_dialect, MODULES)),
                 frozenset(filter(usable, MODULES)), ini_url, _read(env_py))


@dataclass(frozen=True)
class Choice:
    driver: str
    note: str | None = None  # why it is not the driver the project's own run would use


def pick(facts: Facts, pinned: str | None = None, named_as: str = "the driver setting") -> Choice:
    """The driver env.py is handed: `pinned` (the setting, as `named_as` shows where) if any,
    else the one the project's own `alembic upgrade` would use, or a stand-in with a note."""
    if pinned is not None:
        problem = _unusable(facts, pinned)
        if problem:
            raise ConfigError(f"{named_as} {problem}")
        return Choice(pinned)
    wants_async = bool(_ASYNC_ENV.search(facts.env_source))

    def fits(name: str | None) -> bool:
        return name in facts.usable and (name in ASYNC_PREFERENCE or not wants_async)

    ini = _INI_DRIVER.match(facts.ini_url or "")
    ini_driver = ini.group(1).lower() if ini else None
    # env.py's imports first: its code depends on that DBAPI, while the ini's URL is often a
    # placeholder nobody runs.
    named = next(filter(fits, [*_IMPORTS.findall(facts.env_source), ini_driver]), None)
    if named:
        return Choice(named)
    found = next(filter(fits, ASYNC_PREFERENCE if wants_async else (facts.default, *SYNC_PREFERENCE)), None)
    if found is None:
        kind, fix = ("an async PostgreSQL driver", "asyncpg") if wants_async else \
            ("a PostgreSQL driver", PACKAGES.get(facts.default, PACKAGES["psycopg2"]))
        raise ProjectError(f"env.py needs {kind} that SQLAlchemy {facts.sqlalchemy} can load, and none "
                           f"is installed; install the one the project uses, e.g. pip install {fix}")
    # Where the project's own run would load a driver that cannot be loaded here, say so.
    if ini_driver is not None and _unusable(facts, ini_driver):
        wanted, source = ini_driver, "alembic.ini's sqlalchemy.url names"
    elif ini_driver is None and not wants_async and facts.default and found != facts.default:
        wanted, source = facts.default, f"SQLAlchemy {facts.sqlalchemy} maps a bare postgresql:// URL to"
    else:
        return Choice(found)
    return Choice(found, f"env.py is handed {found}: {source} the driver {wanted}, which "
                         f"{_unusable(facts, wanted)} (or set driver = \"{found}\" in the suite's "
                         f"settings to keep {found})")


def _unusable(facts: Facts, name: str) -> str | None:
    """Why `name` cannot be handed to env.py ('is not installed ...'), or None if it can."""
    if name not in MODULES:
        return f"is not a PostgreSQL driver the suite knows; use one of: {', '.join(MODULES)}"
    if name not in facts.dialects:
        return (f"has no dialect in SQLAlchemy {facts.sqlalchemy}; use one it has: "
                f"{', '.join(d for d in MODULES if d in facts.dialects)}")
    if name not in facts.usable:
        return (f"is not installed in the project's environment; pip install {PACKAGES[name]} into "
                f"{facts.python}")
    return None


def missing_driver(module: str, where: str, facts: Facts) -> str | None:
    """The message for a driver's DBAPI module that `where` needed and could not import, in
    the environment `facts` describe."""
    name = next((driver for driver, its in MODULES.items() if its == module), None)
    if name is None:
        return None
    installed = ", ".join(d for d in MODULES if d in facts.usable) or "none"
    return (f"the driver {name} used at {where} is not installed in the project's environment "
            f"(No module named {module!r}); pip install {PACKAGES[name]} into {facts.python} (with the "
            f"project's requirements), or name an installed driver there ({installed})")


@dataclass(frozen=True)
class Drivers:
    project: str  # what env.py is handed: sqlalchemy.url, DATABASE_URL, {url}
    suite: str  # the suite's own connections, including the one shared with env.py
    facts: Facts  # the environment they were chosen in
    note: str | None = None  # why `project` is not the one the project's own run would use

    @property
    def shared(self) -> str:
        """The driver of the connection shared through config.attributes: the project's own
        when it is synchronous, so env.py code written against that DBAPI keeps working."""
        return self.project if self.project in SYNC_PREFERENCE else self.suite


@functools.cache
def suite_driver() -> str:
    # SQLAlchemy 1.4 has no psycopg 3 dialect: `usable` skips it there.
    found = next(filter(usable, SYNC_PREFERENCE), None)
    if found is None:
        fix = "psycopg2-binary" if sqlalchemy.__version__.startswith("1.") else PACKAGES["psycopg"]
        raise ProjectError(f"SQLAlchemy {sqlalchemy.__version__} has no PostgreSQL driver installed "
                           f"that the suite can use; pip install {fix}")
    return found


def described(facts: dict, ini_url: str | None, env_py: Path | None) -> Facts:
    """The facts as the project's own Python described them (`projectside.facts.describe`)."""
    return Facts(facts.get("sqlalchemy") or "(none)", facts.get("default_driver"),
                 frozenset(facts.get("dialects") or ()), frozenset(facts.get("drivers") or ()), ini_url,
                 _read(env_py), f"the project's Python ({facts.get('executable')})")


def choose(ini_url: str | None, env_py: Path | None, pinned: str | None = None,
           named_as: str = "the driver setting", project_facts: dict | None = None) -> Drivers:
    """The drivers for a project whose alembic.ini says `ini_url` and whose env.py is `env_py`;
    `project_facts`, when the project runs in a Python of its own, are what that Python has
    (the connection lent to env.py is then made there, with a synchronous driver it has)."""
    if project_facts is None:
        facts = gather(ini_url, env_py)
        chosen = pick(facts, pinned, named_as)
        return Drivers(chosen.driver, suite_driver(), facts, chosen.note)
    facts = described(project_facts, ini_url, env_py)
    chosen = pick(facts, pinned, named_as)
    lent = next((name for name in SYNC_PREFERENCE if name in facts.usable), None)
    if lent is None:
        has = ", ".join(sorted(facts.usable)) or "none"
        raise ProjectError(f"the project's Python has no synchronous PostgreSQL driver SQLAlchemy "
                           f"{facts.sqlalchemy} can load (it has: {has}); pip install psycopg2-binary "
                           "there, for the connection the suite lends env.py")
    return Drivers(chosen.driver, lent, facts, chosen.note)


def _read(path: Path | None) -> str:
    try:
        return path.read_text(errors="replace") if path is not None else ""
    except OSError:
        return ""


def for_config(cfg, pinned: str | None = None, named_as: str = "the driver setting",
               project_facts: dict | None = None) -> Drivers:
    """The drivers for the project an Alembic Config (script_location already resolved) describes."""
    try:
        # Raw: a template such as %(DB_URL)s must not fail here; it simply names no driver.
        ini_url = cfg.file_config.get(cfg.config_ini_section, "sqlalchemy.url", raw=True)
    except Exception:  # noqa: BLE001 - no such option or section
        ini_url = None
    location = cfg.get_main_option("script_location") or ""
    folder = Path(location)
    # A `package:folder` location needs the project's sys.path; its env.py is not read here.
    env_py = folder / "env.py" if location and (folder.is_absolute() or ":" not in location) else None
    return choose(ini_url, env_py, pinned, named_as, project_facts)
