"""Which PostgreSQL driver each URL names: the one env.py is handed, and the suite's own.

SQLAlchemy 1.4 has no `postgresql+psycopg` dialect, and a project pinned to 1.4 usually has
only psycopg2 installed; an async env.py needs an async driver; an env.py written against
psycopg2 (or asyncpg) should get that driver. So the URL env.py sees names the driver the
project itself names (alembic.ini's sqlalchemy.url, env.py's imports) when this environment
can load it, else the best one this SQLAlchemy offers. The suite's own connections need a
synchronous driver, whatever env.py uses.
"""

from __future__ import annotations

import functools
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy
from sqlalchemy.dialects import registry

from checks.errors import ProjectError

# Driver name -> the module it imports, for the drivers env.py files are seen with.
MODULES = {"psycopg": "psycopg", "psycopg2": "psycopg2", "asyncpg": "asyncpg", "pg8000": "pg8000",
           "psycopg2cffi": "psycopg2cffi"}
SYNC_PREFERENCE = ("psycopg", "psycopg2", "pg8000", "psycopg2cffi")
ASYNC_PREFERENCE = ("psycopg", "asyncpg")  # psycopg 3 serves both ways

_SYNC_FIX = ("pip install psycopg2-binary" if sqlalchemy.__version__.startswith("1.")
             else "pip install 'psycopg[binary]'")
_INI_DRIVER = re.compile(r"^\s*postgres(?:ql)?\+(\w+)://", re.IGNORECASE)
_IMPORTS = re.compile(r"^\s*(?:import|from)\s+(psycopg2|asyncpg|pg8000|psycopg)\b", re.MULTILINE)
_ASYNC_ENV = re.compile(r"async_engine_from_config|create_async_engine|AsyncEngine|\.run_sync\(")


@functools.cache
def usable(driver: str) -> bool:
    """Whether this SQLAlchemy has the dialect and its DBAPI module imports."""
    module = MODULES.get(driver)
    if module is None:
        return False
    try:
        # Imported, not only found: a broken install must fall back here, not fail in env.py.
        importlib.import_module(module)
        registry.load(f"postgresql.{driver}")
    except Exception:  # noqa: BLE001 - ImportError, NoSuchModuleError, a dialect failing to import
        return False
    return True


def _first_usable(names) -> str | None:
    return next((name for name in names if usable(name)), None)


@dataclass(frozen=True)
class Drivers:
    project: str  # what env.py is handed: sqlalchemy.url, DATABASE_URL, {url}
    suite: str  # the suite's own connections, including the one shared with env.py

    @property
    def shared(self) -> str:
        """The driver of the connection shared through config.attributes: the project's own
        when it is synchronous, so env.py code written against that DBAPI keeps working."""
        return self.project if self.project in SYNC_PREFERENCE else self.suite


@functools.cache
def suite_driver() -> str:
    # SQLAlchemy 1.4 has no psycopg 3 dialect: `usable` skips it there.
    found = _first_usable(SYNC_PREFERENCE)
    if found is None:
        raise ProjectError(f"SQLAlchemy {sqlalchemy.__version__} has no PostgreSQL driver installed "
                           f"that the suite can use; {_SYNC_FIX}")
    return found


def choose(ini_url: str | None, env_py: Path | None) -> Drivers:
    """The drivers for a project whose alembic.ini says `ini_url` and whose env.py is `env_py`."""
    source = _read(env_py)
    wants_async = bool(_ASYNC_ENV.search(source))
    # env.py's imports first: its code depends on that DBAPI, while the ini's URL is often a
    # placeholder nobody runs.
    named = _IMPORTS.findall(source)
    named += [m.group(1).lower() for m in [_INI_DRIVER.match(ini_url or "")] if m]
    for name in named:
        if usable(name) and (name in ASYNC_PREFERENCE or not wants_async):
            return Drivers(name, suite_driver())
    preference = ASYNC_PREFERENCE if wants_async else SYNC_PREFERENCE
    project = _first_usable(preference)
    if project is None:
        kind, fix = ("an async PostgreSQL driver", "pip install asyncpg") if wants_async else \
            ("a PostgreSQL driver", _SYNC_FIX)
        raise ProjectError(f"env.py needs {kind} that SQLAlchemy {sqlalchemy.__version__} can load, and "
                           f"none is installed; install the one the project uses, e.g. {fix}")
    return Drivers(project, suite_driver())


def _read(path: Path | None) -> str:
    try:
        return path.read_text(errors="replace") if path is not None else ""
    except OSError:
        return ""


def for_config(cfg) -> Drivers:
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
    return choose(ini_url, env_py)
