"""What the project's environment holds: its Python, Alembic, SQLAlchemy and drivers."""

from __future__ import annotations

import importlib
import platform
import sys

# Driver name -> the module it imports, for the drivers env.py files are seen with.
DRIVER_MODULES = {"psycopg": "psycopg", "psycopg2": "psycopg2", "asyncpg": "asyncpg", "pg8000": "pg8000",
                  "psycopg2cffi": "psycopg2cffi"}


def _version(module_name: str) -> str | None:
    try:
        module = importlib.import_module(module_name)
    except Exception:  # noqa: BLE001 - absent, or broken: either way not usable
        return None
    return getattr(module, "__version__", None) or "unknown"


def usable_drivers() -> list:
    """The drivers whose DBAPI imports here and whose dialect this SQLAlchemy has."""
    from sqlalchemy.dialects import registry

    found = []
    for name, module in DRIVER_MODULES.items():
        try:
            importlib.import_module(module)
            registry.load("postgresql." + name)
        except Exception:  # noqa: BLE001 - ImportError, NoSuchModuleError, a dialect failing to import
            continue
        found.append(name)
    return found


def default_driver() -> str | None:
    """What this SQLAlchemy maps a bare postgresql:// URL to."""
    try:
        from sqlalchemy.engine.url import make_url

        return make_url("postgresql://").get_dialect().driver
    except Exception:  # noqa: BLE001 - its DBAPI may be missing: the name is still known
        return None


def describe() -> dict:
    return {
        "python": platform.python_version(),
        "executable": sys.executable,
        "alembic": _version("alembic"),
        "sqlalchemy": _version("sqlalchemy"),
        "drivers": usable_drivers() if _version("sqlalchemy") else [],
        "default_driver": default_driver() if _version("sqlalchemy") else None,
    }
