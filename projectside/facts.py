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


def has_dialect(driver: str) -> bool:
    """Whether this SQLAlchemy has a dialect for the driver (1.4 has none for psycopg 3)."""
    from sqlalchemy.dialects import registry

    try:
        registry.load("postgresql." + driver)
    except Exception:  # noqa: BLE001 - NoSuchModuleError, or a dialect failing to import
        return False
    return True


def usable(driver: str) -> bool:
    """Whether this SQLAlchemy has the dialect and the driver's DBAPI module imports."""
    if driver not in DRIVER_MODULES or not has_dialect(driver):
        return False
    try:
        # Imported, not only found: a broken install must count as missing.
        importlib.import_module(DRIVER_MODULES[driver])
    except Exception:  # noqa: BLE001 - ImportError, or a module failing on import
        return False
    return True


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
        "dialects": [name for name in DRIVER_MODULES if has_dialect(name)] if _version("sqlalchemy") else [],
        "drivers": [name for name in DRIVER_MODULES if usable(name)] if _version("sqlalchemy") else [],
        "default_driver": default_driver() if _version("sqlalchemy") else None,
    }
