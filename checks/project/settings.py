"""The suite's per-project settings: `[tool.alembic-preflight]` in the target's
pyproject.toml, or an `alembic-preflight.toml` beside alembic.ini. Unknown keys are errors."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from checks.errors import ConfigError, shown
from checks.rehearse import settings as rehearse_settings
from checks.textfile import read_text

TOOL_NAME = "alembic-preflight"
OWN_FILE = f"{TOOL_NAME}.toml"


@dataclass
class Settings:
    # Where alembic.ini is, relative to the project directory.
    alembic_ini: str = "alembic.ini"
    # "module:attr" naming the MetaData (or list of them); overrides what env.py passes.
    metadata: str | None = None
    # Modules to import before reading metadata, for models env.py does not import itself.
    metadata_modules: list[str] = field(default_factory=list)
    # The scripts folder (relative to the project, or "package:folder"), if not alembic.ini's.
    script_location: str | None = None
    # The alembic.ini section to read, for inis with several (what `alembic -n NAME` picks).
    ini_section: str = "alembic"
    # Revision folders, when a wrapper sets them at run time; replaces alembic.ini's.
    version_locations: list[str] = field(default_factory=list)
    # Folders (relative to the project) put on sys.path before anything of the project runs.
    sys_path: list[str] = field(default_factory=list)
    # Environment variables for env.py, with {host} {port} {user} {password} {database} {url}.
    env: dict[str, str] = field(default_factory=dict)
    # The PostgreSQL driver env.py is handed, in every URL and in the shared connection:
    # "psycopg2", "psycopg" (psycopg 3), "asyncpg", "pg8000" or "psycopg2cffi"; its package
    # must be installed where env.py runs (the python setting's environment, else the
    # suite's); --driver overrides it. Unset, it is the one the project names (env.py's
    # imports, alembic.ini's sqlalchemy.url), else the one its SQLAlchemy maps a bare
    # postgresql:// URL to (psycopg2 up to SQLAlchemy 2.0, psycopg from 2.1): the driver the
    # project's own `alembic upgrade` would load.
    driver: str | None = None
    # The project's own Python (its interpreter, or its virtual environment's folder,
    # relative to the project): the revisions, env.py and the hooks run there, in a process
    # of their own, and nothing is installed into it; --python overrides it. Unset, they
    # run in the suite's own Python (a project installed beside the suite); every stage
    # runs either way.
    python: str | None = None
    # "module:function" given a SQLAlchemy connection to an empty database before the first revision.
    bootstrap: str | None = None
    # "module:function" that receives a zero-argument callable and must call it (app contexts).
    runner: str | None = None
    # The Flask app whose context env.py runs in (what FLASK_APP names), when the flask
    # command's own discovery (FLASK_APP, .flaskenv, wsgi.py, app.py) does not find it.
    flask_app: str | None = None
    # Tables ("table", "schema.table") or columns ("table.column") drift must not report.
    ignore: list[str] = field(default_factory=list)
    # Extensions every database the run creates gets before anything else runs (the ones a
    # production server provides outside migrations, or the models need: pg_trgm, postgis).
    extensions: list[str] = field(default_factory=list)
    # Tables that must exist after a fresh upgrade.
    critical_tables: list[str] = field(default_factory=list)
    # The oldest revision the project still promises to downgrade past; older ones are not
    # downgraded in the round trip.
    downgrade_floor: str | None = None
    # The stages `verify` runs when no --stage is given, e.g. ["files", "heads", "fresh",
    # "roundtrip", "lint"] for a project with no models to compare (raw SQL, no
    # target_metadata); unset, every stage but the opt-in recovery drills.
    stages: list[str] = field(default_factory=list)
    # Whether the project writes downgrades. `false` for a project that only rolls forward
    # (every revision has upgrade() only): no missing-downgrade errors, no round trip, no lint
    # about empty downgrades. Unset, it is recognised: false when no revision file and no
    # script.py.mako template defines downgrade(), true otherwise.
    downgrades: bool | None = None
    # Heads the history keeps apart by design, deployed with `alembic upgrade heads` (an
    # expand/contract history): their branch labels, e.g. ["expand@head", "contract@head"].
    # Those heads pass the heads stage instead of being told to merge. Unset, several heads
    # pass when each has a branch label of its own (`branch_labels` on its branch's first
    # revision); unlabelled heads still fail.
    heads: list[str] = field(default_factory=list)
    # Settings of the lint stage, validated there.
    lint: dict = field(default_factory=dict)
    # Time limits (checks/project/limits.py, validated there): seconds one revision and the
    # whole run may take (0: none), and PostgreSQL durations ("5s") set on the migration's
    # session, as production runs them.
    revision_timeout: float = 300
    run_timeout: float = 0
    lock_timeout: str | None = None
    statement_timeout: str | None = None
    # Whether the fresh build measures what each revision does to the tables that existed before
    # it: the relation locks its statements take (and what those block), the tables and
    # indexes it rewrites, the full scans it runs under the lock (the deploy-risk table).
    # Measured on the migration's own session, inside its transaction, around every
    # statement; `false` leaves it out.
    measure: bool = True
    # The rehearse stage (opt-in: --stage rehearse, nox -s rehearse) times each revision that
    # takes a lock stronger than ROW EXCLUSIVE on a table that existed before it, on tables
    # filled to a scaled-down production size, and estimates the time at full size.
    # `volumes`: rows per table in production, "*" for every other table (default 100000),
    # e.g. volumes = { orders = 5_000_000, "*" = 100_000 };
    # `volumes_file`: a file `doctor --volumes-out` wrote from a real database's statistics
    # (relative to the project; --volumes overrides it), whose counts `volumes` overrides.
    volumes: dict = field(default_factory=dict)
    volumes_file: str | None = None
    # Seconds the rehearse stage may take in all (what it had no time for is named in a
    # warning); the most disk its rows may take on the throwaway server ("2GB", "500MB"):
    # volumes are scaled down to fit before any row is inserted.
    rehearse_budget: float = 120
    rehearse_disk: str = "2GB"
    # Milliseconds a revision may hold a lock that blocks writes (SHARE, ACCESS EXCLUSIVE and
    # the ones between) on a table that existed before it, at the declared volume, before the
    # rehearse stage warns.
    max_lock_ms: float = 1000
    # Pull-request runs (--since/--git-base): where the migrated base is cached between runs,
    # relative to the project (e.g. ".alembic-preflight/cache"); --cache overrides it.
    cache_dir: str | None = None

    source: str = "defaults"

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.name != "source"]

    def home(self) -> str:
        """Where a setting goes: the file these came from, or where one would be read."""
        if self.source != "defaults":
            return self.source
        return f"[tool.{TOOL_NAME}] of pyproject.toml or {OWN_FILE}"


def _read_toml(path: Path) -> dict:
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file") from None


def _tool_table(data: dict, path: Path) -> dict | None:
    """[tool.alembic-preflight], None when absent; an error when `tool` or it is not a table."""
    tool = data.get("tool", {})
    table = tool.get(TOOL_NAME) if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or (table is not None and not isinstance(table, dict)):
        raise ConfigError(f"{path}: tool.{TOOL_NAME} must be a table: write the settings under a "
                          f"[tool.{TOOL_NAME}] header")
    return table


def _own_table(path: Path) -> dict:
    """A settings file of the suite's own: the keys at its top, or under the same
    [tool.alembic-preflight] header as in pyproject.toml (the documented examples have it)."""
    data = _read_toml(path)
    table = _tool_table(data, path)
    return data if table is None else table


def load_settings(project_dir: Path, config_file: Path | None = None,
                  ini_folder: Path | None = None) -> Settings:
    """Read settings from an explicit file, alembic-preflight.toml in the project folder or in
    `ini_folder` (where alembic.ini is, when not in the project folder), or pyproject.toml,
    in that order."""
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file not found: {config_file}")
        return _build(_own_table(config_file), str(config_file))
    for folder in (project_dir, ini_folder):
        own = folder / OWN_FILE if folder is not None else None
        if own is not None and own.is_file():
            return _build(_own_table(own), str(own))
    pyproject = project_dir / "pyproject.toml"
    if pyproject.is_file():
        data = _tool_table(_read_toml(pyproject), pyproject)
        if data is not None:
            return _build(data, f"{pyproject} [tool.{TOOL_NAME}]")
    return Settings()


_LIST_KEYS = {"metadata_modules", "sys_path", "version_locations", "ignore", "critical_tables",
              "extensions", "heads", "stages"}
_STRING_KEYS = {"alembic_ini", "metadata", "script_location", "ini_section", "bootstrap", "runner", "driver",
                "flask_app", "downgrade_floor", "python", "volumes_file"}


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_nul(v) for v in value)


def _build(data: dict, source: str) -> Settings:
    known = Settings.keys()
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{source}: unknown setting(s) {', '.join(map(shown, unknown))}; "
                          f"valid settings are: {', '.join(known)}")
    if _has_nul(data):
        raise ConfigError(f"{source}: a setting contains a NUL character (\\u0000), which no path, "
                          "name or environment variable can hold; remove it")
    for key in sorted(_STRING_KEYS & set(data)):
        if not isinstance(data[key], str) or not data[key].strip():
            raise ConfigError(f"{source}: {key} must be a non-empty string, e.g. {key} = \"...\"")
    for key in ("downgrades", "measure"):
        if key in data and not isinstance(data[key], bool):
            raise ConfigError(f"{source}: {key} must be true or false (no quotes), e.g. {key} = false")
    for key in _LIST_KEYS & set(data):
        if not (isinstance(data[key], list) and all(isinstance(v, str) for v in data[key])):
            raise ConfigError(f"{source}: {key} must be a list of strings")
    if "env" in data and not (isinstance(data["env"], dict)
                              and all(isinstance(v, str) for v in data["env"].values())):
        raise ConfigError(f"{source}: env must be a table of strings, e.g. "
                          'env = { POSTGRES_SERVER = "{host}" }')
    bad_names = [name for name in data.get("env", {}) if not name or "=" in name]
    if bad_names:
        raise ConfigError(f"{source}: env: {bad_names[0]!r} cannot be an environment variable's name "
                          "(empty, or contains '='); use names like POSTGRES_SERVER")
    if "lint" in data and not isinstance(data["lint"], dict):
        raise ConfigError(f"{source}: lint must be a table")
    rehearse_settings.validate(data, source)
    return Settings(**data, source=source)
