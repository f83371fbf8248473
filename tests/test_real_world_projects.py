"""Shapes of project met when the suite was tried on public Alembic projects.

Each test carries one shape that once broke the suite: a relative script_location,
Flask-Migrate's alembic.ini, an env.py that connects where it likes, asyncpg, models
that cannot be imported twice, no target_metadata, drift of two properties of one
column, and a settings error worded over several lines.
"""

from __future__ import annotations

import os

import pytest
from cli_support import ROOT, run_cli
from projects import (
    ALEMBIC_INI,
    APP_SETTINGS,
    APP_SETTINGS_ENV,
    FIXTURE_DBAPI,
    ITEMS_MODELS,
    Rev,
    assert_clean,
    assert_usage_error,
    build_project,
    items_revision,
)

# --- where alembic.ini and the scripts are ---------------------------------------------

RELATIVE_INI = ALEMBIC_INI.replace("%(here)s/migrations", "migrations")
# Flask-Migrate's template: no script_location (the ini sits in the scripts folder), no URL.
FLASK_MIGRATE_INI = ALEMBIC_INI.replace("script_location = %(here)s/migrations\n", "") \
    .replace("prepend_sys_path = .\n", "").replace("sqlalchemy.url = ", "# sqlalchemy.url = ")


def test_relative_script_location_resolves_against_the_project(verify, tmp_path):
    # Alembic resolves it against the working directory; the CLI runs from the repository.
    # The lock file lives in the script directory: it is where a wrong resolution shows.
    assert "script_location = migrations\n" in RELATIVE_INI
    project = build_project(tmp_path / "project", [items_revision()], files={"alembic.ini": RELATIVE_INI})
    assert not (ROOT / "migrations").exists(), "the test needs a working directory without migrations/"
    locked = run_cli("lock", "--project", str(project))
    assert locked.code == 0, locked.stdout + locked.stderr
    assert (project / "migrations" / "revisions.lock").is_file(), locked.stdout
    assert_clean(verify(project))

    revision = project / "migrations" / "versions" / "0001_revision.py"
    revision.write_text(revision.read_text() + "SCHEMA_VERSION = 2  # edited after release\n")
    result = verify(project, "--stage", "files")
    assert [(f["code"], f["revision"]) for f in result.findings("files")] == \
        [("locked-revision-changed", "0001")], result.stdout


def test_flask_migrate_ini_inside_the_scripts_folder(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()],
                            files={"migrations/alembic.ini": FLASK_MIGRATE_INI})
    (project / "alembic.ini").unlink()
    assert "script_location" not in FLASK_MIGRATE_INI
    assert_clean(verify(project, "--alembic-ini", "migrations/alembic.ini"))


# --- which database env.py reaches --------------------------------------------------------

def test_env_py_connecting_to_another_database_is_refused(verify, tmp_path, pg_server, make_database):
    decoy = make_database("decoy")
    with pg_server.connect(decoy) as conn:
        conn.execute("CREATE TABLE precious (id int PRIMARY KEY, note text)")
        conn.execute("INSERT INTO precious VALUES (1, 'keep'), (2, 'me')")
    decoy_url = pg_server.url(decoy, FIXTURE_DBAPI).render_as_string(hide_password=False)
    project = build_project(tmp_path / "project", [items_revision()], env="foreign_database")

    result = verify(project, env={"APP_DATABASE_URL": decoy_url})

    assert_usage_error(result, f"env.py connected to database {decoy!r}", "nothing was run there",
                       "[tool.alembic-preflight] env")
    with pg_server.connect(decoy) as conn:
        tables = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
        rows = conn.execute("SELECT id, note FROM precious ORDER BY id").fetchall()
    assert tables == [("precious",)]  # no alembic_version, no items: not even rolled-back DDL kept
    assert rows == [(1, "keep"), (2, "me")]


ASYNCPG_SETTINGS = """\
import os

from sqlalchemy.engine import URL

DATABASE_URI = URL.create("postgresql+asyncpg", username=os.environ["DB_USER"],
                          password=os.environ["DB_PASSWORD"] or None, host=os.environ["DB_HOST"],
                          port=int(os.environ["DB_PORT"]), database=os.environ["DB_NAME"])
"""
ASYNCPG_ENV = """\
[tool.alembic-preflight.env]
DB_HOST = "{host}"
DB_PORT = "{port}"
DB_USER = "{user}"
DB_PASSWORD = "{password}"
DB_NAME = "{database}"
"""
# Every kind of catalog row with a one-byte "char" code (relkind, contype, FK actions),
# which asyncpg returns as bytes where psycopg returns str.
SHOP_MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
kind = sa.Enum("book", "game", name="item_kind")
owners = sa.Table("owners", metadata, sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("email", sa.Text, nullable=False, unique=True))
items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False, index=True),
                 sa.Column("kind", kind, nullable=False, server_default="book"),
                 sa.Column("price", sa.Numeric(10, 2),
                           sa.CheckConstraint("price >= 0", name="price_positive")),
                 sa.Column("owner_id", sa.Integer, sa.ForeignKey("owners.id", ondelete="CASCADE")))
"""
CREATE_SHOP = Rev("0001", None, """\
op.create_table("owners", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("email", sa.Text, nullable=False, unique=True))
""", 'op.drop_table("owners")')
CREATE_SHOP_ITEMS = Rev("0002", "0001", """\
op.create_table("items",
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.Text, nullable=False),
                sa.Column("kind", sa.Enum("book", "game", name="item_kind"), nullable=False,
                          server_default="book"),
                sa.Column("price", sa.Numeric(10, 2),
                          sa.CheckConstraint("price >= 0", name="price_positive")),
                sa.Column("owner_id", sa.Integer, sa.ForeignKey("owners.id", ondelete="CASCADE")))
op.create_index("ix_items_name", "items", ["name"])
""", 'op.drop_table("items")\nsa.Enum(name="item_kind").drop(op.get_bind())')


def test_async_env_py_on_asyncpg(verify, tmp_path):
    # The per-revision snapshots read the catalog over env.py's own (asyncpg) connection.
    project = build_project(tmp_path / "project", [CREATE_SHOP, CREATE_SHOP_ITEMS], models=SHOP_MODELS,
                            env="asyncpg_settings", settings=ASYNCPG_ENV,
                            files={"app/settings.py": ASYNCPG_SETTINGS})
    assert_clean(verify(project))


# Like SQLModel: the MetaData belongs to an installed library, so it outlives any re-import of
# the project's modules, and defining the same table in it twice raises.
SHARED_REGISTRY = """\
import sqlalchemy as sa

metadata = sa.MetaData()
"""
REGISTERING_MODELS = """\
import sqlalchemy as sa
from shared_registry import metadata

items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False))
"""


def test_models_that_cannot_be_imported_twice(verify, tmp_path):
    # Every stage must see the same database name, so nothing needs re-importing: the
    # settings stay right and the shared MetaData never meets a table twice.
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "shared_registry.py").write_text(SHARED_REGISTRY)
    project = build_project(tmp_path / "project", [items_revision()], models=REGISTERING_MODELS,
                            env="app_settings", settings=APP_SETTINGS_ENV,
                            files={"app/settings.py": APP_SETTINGS})
    # On PYTHONPATH like an installed library: the sys_path setting's folders count as the
    # project's own, and a regression that re-imports them would go unseen.
    pythonpath = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    assert_clean(verify(project, env={"PYTHONPATH": pythonpath}))


# --- errors that belong to one stage, or to the project -------------------------------

def test_no_target_metadata_fails_drift_alone(verify, tmp_path):
    result = verify(build_project(tmp_path / "project", [items_revision()], env="no_metadata"))
    line = assert_usage_error(result, "no target_metadata", "--metadata")
    assert result.report is not None, "the JSON report must be written before exiting 2"
    [finding] = result.findings("drift")
    assert finding["code"] == "project-error"
    assert finding["message"] == line.removeprefix("error: ")
    assert result.stage("drift")["status"] == "error"
    statuses = {s["name"]: s["status"] for s in result.report["stages"]}
    assert {name: statuses[name] for name in ("files", "heads", "fresh", "roundtrip")} == \
        dict.fromkeys(("files", "heads", "fresh", "roundtrip"), "pass"), result.stdout


def test_a_project_without_models_leaves_drift_out_with_the_stages_setting(verify, tmp_path):
    # Raw SQL only (target_metadata = None by design): the error says how to leave drift out.
    project = build_project(tmp_path / "project", [items_revision()], env="no_metadata")
    assert_usage_error(verify(project), "raw SQL only, leaves drift out", 'stages = ["files", "heads"')

    kept = '["files", "heads", "fresh", "roundtrip", "lint"]'
    (project / "pyproject.toml").write_text(f"[tool.alembic-preflight]\nstages = {kept}\n")
    result = verify(project)
    assert result.code == 0, result.stdout + result.stderr
    assert [stage["name"] for stage in result.report["stages"]] == \
        ["files", "heads", "fresh", "roundtrip", "lint"], result.stdout
    # --stage still chooses for one run.
    assert [stage["name"] for stage in verify(project, "--stage", "heads").report["stages"]] == ["heads"]

    (project / "pyproject.toml").write_text('[tool.alembic-preflight]\nstages = ["fresh", "drfit"]\n')
    assert_usage_error(verify(project), "[tool.alembic-preflight]: stages: unknown stage(s) drfit; "
                       "valid stages: files")

# redash's first revision: it alters a table made outside migrations and catches the
# database's error, so what fails is the next statement, in an aborted transaction.
CATCHES_ITS_ERROR = Rev("0002", "0001", """\
from sqlalchemy.exc import ProgrammingError
try:
    op.add_column("queries", sa.Column("is_draft", sa.Boolean))
except ProgrammingError as exc:
    if "already exists" in str(exc):
        raise
op.execute("UPDATE items SET name = name")
""", 'op.drop_column("queries", "is_draft")')


def test_an_error_the_revision_caught_is_named_as_the_cause_of_the_next(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision(), CATCHES_ITS_ERROR])

    result = verify(project, "--stage", "fresh")

    assert result.code == 1, result.stdout + result.stderr
    [failed] = result.findings("fresh", "upgrade-failed")
    assert failed["revision"] == "0002" and "current transaction is aborted" in failed["message"], failed
    assert "an earlier statement of this revision failed and its code caught the error" in failed["hint"]


def test_multi_line_env_py_error_keeps_the_field(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision()], env="invalid_settings")
    line = assert_usage_error(verify(project), "env.py failed before running any migration", "ValueError",
                              "1 validation error for Settings", "secret_key", "Field required",
                              "migrations/env.py line 2")
    assert "\n" not in line


# --- drift: one finding per property, none twice ----------------------------------------

QTY_MODELS = ITEMS_MODELS + \
    'items.append_column(sa.Column("qty", sa.BigInteger, nullable=False, server_default="1"))\n'
ADD_QTY = Rev("0002", "0001", 'op.add_column("items", sa.Column("qty", sa.Integer, nullable=False, '
              'server_default="0"))', 'op.drop_column("items", "qty")')


def test_drift_reports_type_and_default_of_one_column(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision(), ADD_QTY], models=QTY_MODELS)
    result = verify(project, "--stage", "drift")
    assert result.code == 1, result.stdout + result.stderr
    found = {(f["code"], f["object"]): f["message"] for f in result.findings("drift")}
    # autogenerate compares types (not server defaults); the catalog comparison says the default.
    assert set(found) == {("drift-autogenerate", "items.qty"), ("drift-catalog", "items.qty")}, found
    assert "type BIGINT in models, INTEGER in migrations" in found["drift-autogenerate", "items.qty"]
    assert found["drift-catalog", "items.qty"].startswith("items.qty: default '1'"), found


FK_MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
parents = sa.Table("parents", metadata, sa.Column("id", sa.Integer, primary_key=True))
items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("parent_id", sa.Integer,
                           sa.ForeignKey("parents.id", name="items_parent_id_fkey", ondelete="SET NULL")))
"""
CREATE_FK = Rev("0001", None, """\
op.create_table("parents", sa.Column("id", sa.Integer, primary_key=True))
op.create_table("items", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("parent_id", sa.Integer,
                          sa.ForeignKey("parents.id", name="items_parent_id_fkey", ondelete="CASCADE")))
""", 'op.drop_table("items")\nop.drop_table("parents")')


def test_drift_reports_a_changed_fk_action_once(verify, tmp_path):
    project = build_project(tmp_path / "project", [CREATE_FK], models=FK_MODELS)
    result = verify(project, "--stage", "drift")
    assert result.code == 1, result.stdout + result.stderr
    findings = result.findings("drift")
    messages = [f["message"] for f in findings]
    # Alembic words it as the old key removed and the new one added; nothing else repeats it.
    assert len(findings) == 2, messages
    assert {f["code"] for f in findings} == {"drift-autogenerate"}, messages
    assert any("ON DELETE SET NULL" in m and "in the models" in m for m in messages), messages
    assert any("ON DELETE CASCADE" in m and "in the migrated schema but not" in m for m in messages), messages


# The app, found the way the `flask` command finds it (wsgi.py here), reads its database
# from the environment when it is created.
FLASK_WSGI = """\
import os

from flask import Flask

from app.models import metadata

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
app.extensions["models"] = metadata
"""


def flask_project(root, files: dict[str, str], env: str = "flask_current_app"):
    project = build_project(root, [items_revision()], env=env,
                            files={"migrations/alembic.ini": FLASK_MIGRATE_INI, **files})
    (project / "alembic.ini").unlink()
    return project


def test_a_flask_migrate_project_runs_in_its_app_context_with_no_settings(verify, tmp_path):
    # No alembic.ini at the top (Flask-Migrate keeps it in migrations/), no runner hook.
    assert_clean(verify(flask_project(tmp_path / "project", {"wsgi.py": FLASK_WSGI})))


@pytest.mark.parametrize("where", ["migrations", "."])
def test_a_settings_file_beside_a_flask_migrate_alembic_ini_is_read(verify, tmp_path, where):
    """Flask-Migrate keeps alembic.ini in migrations/: a settings file beside it counts, as
    one in the project folder does."""
    project = flask_project(tmp_path / "project", {"wsgi.py": FLASK_WSGI})
    (project / where / "alembic-preflight.toml").write_text('critical_tables = ["invoices"]\n')
    result = verify(project, "--stage", "fresh")
    assert [(f["code"], f["object"]) for f in result.findings("fresh", "critical-table-missing")] == \
        [("critical-table-missing", "invoices")], result.stdout


# A factory that may run once per process (it registers on module-level objects in real
# apps), and a revision that reads the app when it is imported, as `flask db` allows.
ONCE_FACTORY = """\
import os

from flask import Flask

from app.models import metadata

made = []


def create_app():
    if made:
        raise RuntimeError("create_app() may run once per process")
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config["ITEMS_TABLE"] = "items"
    app.extensions["models"] = metadata
    made.append(app)
    return app
"""
READS_THE_APP = """\
import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "0001"
down_revision = None
TABLE = current_app.config["ITEMS_TABLE"]


def upgrade():
    op.create_table(TABLE, sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("name", sa.Text, nullable=False))


def downgrade():
    op.drop_table(TABLE)
"""


def factory_project(root, factory: str):
    """A Flask-Migrate project whose app comes from `factory` and whose one revision reads it."""
    project = flask_project(root, {"factory.py": factory,
                                   "alembic-preflight.toml": 'flask_app = "factory:create_app()"\n'},
                            env="flask_migrate")
    for old in (project / "migrations" / "versions").glob("*.py"):
        old.unlink()
    (project / "migrations" / "versions" / "0001_items.py").write_text(READS_THE_APP)
    return project


def test_a_flask_factory_runs_once_and_revisions_load_inside_its_app_context(verify, tmp_path):
    project = factory_project(tmp_path / "project", ONCE_FACTORY)
    assert_clean(verify(project))
    # Lint alone runs env.py offline once per stretch of revisions: one app for all of them.
    linted = verify(project, "--stage", "lint")
    assert linted.code == 0, linted.stdout + linted.stderr
    assert not linted.findings("lint", "offline-unsupported"), linted.stdout


def test_a_flask_factory_that_fails_is_named_as_the_app_not_as_the_revisions(verify, tmp_path):
    # A revision that needs the app, and an app that needs configuration it was not given.
    failing = ONCE_FACTORY.replace('app.config["ITEMS_TABLE"] = "items"',
                                   'app.config["ITEMS_TABLE"] = os.environ["ITEMS_TABLE"]')
    project = factory_project(tmp_path / "project", failing)
    line = assert_usage_error(verify(project), "the Flask app (factory:create_app()) failed when it was "
                              "created: KeyError: 'ITEMS_TABLE'", "flask db heads", "alembic-preflight.toml")
    assert "history-unloadable" not in line

def test_a_flask_app_the_flask_command_would_not_find_is_named_by_a_setting(verify, tmp_path):
    project = flask_project(tmp_path / "project", {"web/server.py": FLASK_WSGI, "web/__init__.py": ""})
    assert_usage_error(verify(project), "current_app", "flask_app")

    (project / "pyproject.toml").write_text('[tool.alembic-preflight]\nflask_app = "web.server:app"\n')
    assert_clean(verify(project))


def test_an_app_that_migrates_when_it_starts_is_named_not_blamed_on_env_py(verify, tmp_path):
    # CTFd's shape: the factory the flask command finds upgrades the database itself.
    migrating = FLASK_WSGI + """\
from alembic import command
from alembic.config import Config

config = Config("migrations/alembic.ini")
config.set_main_option("script_location", "migrations")  # as flask_migrate.upgrade() does
with app.app_context():
    command.upgrade(config, "head")
"""
    result = verify(flask_project(tmp_path / "project", {"wsgi.py": migrating}), "--stage", "fresh")
    assert_usage_error(result, "already records revision 0001", "flask_app")
