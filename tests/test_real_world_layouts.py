"""More shapes met when the suite was tried on public Alembic projects.

An alembic.ini kept in a folder of its own (conf/), a Flask-Migrate alembic.ini whose
`script_location = .` only Flask-Migrate reads right (it sets the folder itself), and an
offline branch without `literal_binds=True`, which writes bound parameters as placeholders,
a version table of another name, which env.py gives only when it runs, and a revision whose
import creates a type through `op.get_bind()`.
"""

from __future__ import annotations

from projects import (
    ALEMBIC_INI,
    ENVS,
    ITEMS_MODELS,
    Rev,
    assert_clean,
    assert_usage_error,
    build_project,
    items_revision,
)
from test_real_world_projects import FLASK_MIGRATE_INI, FLASK_WSGI, flask_project

# --- where alembic.ini is ---------------------------------------------------------------


def test_an_alembic_ini_in_another_folder_is_named_with_the_option_that_picks_it(verify, tmp_path):
    # hypothesis/h keeps it in conf/; with no settings file, the message named a source
    # called "defaults" instead of a place to write the setting.
    ini = ALEMBIC_INI.replace("%(here)s/migrations", "migrations")
    project = build_project(tmp_path / "project", [items_revision()], files={"conf/alembic.ini": ini})
    (project / "alembic.ini").unlink()

    line = assert_usage_error(verify(project), "no alembic.ini at", "conf/alembic.ini", "--alembic-ini",
                              "[tool.alembic-preflight]")
    assert "defaults" not in line

    assert_clean(verify(project, "--alembic-ini", "conf/alembic.ini"))


def test_a_flask_migrate_ini_whose_script_location_is_a_dot(verify, tmp_path):
    # ihatemoney: `flask db` sets script_location to its own folder, so `script_location = .`
    # in the ini never mattered there; read from the project folder, "." has no env.py.
    ini = FLASK_MIGRATE_INI.replace("[alembic]\n", "[alembic]\nscript_location = .\n")
    project = flask_project(tmp_path / "project", {"wsgi.py": FLASK_WSGI, "migrations/alembic.ini": ini})
    assert_clean(verify(project))


# --- lint reads what the revision does, not how an offline script spells a parameter ------

# The generic template's offline branch, less `literal_binds=True` (hypothesis/h's env.py).
OFFLINE_WITHOUT_LITERAL_BINDS = (ENVS / "sync_template.py").read_text().replace(
    ",\n                      literal_binds=True, dialect_opts={\"paramstyle\": \"named\"})", ")")
assert "literal_binds" not in OFFLINE_WITHOUT_LITERAL_BINDS

FILL_NAMES = Rev("0002", "0001", """\
items = sa.table("items", sa.column("name", sa.Text))
op.execute(items.update().where(items.c.name == "").values(name="unnamed"))
""")


def test_an_update_with_bound_values_is_not_called_unparsable(verify, tmp_path):
    project = build_project(tmp_path / "project", [items_revision(), FILL_NAMES], models=ITEMS_MODELS,
                            files={"migrations/env.py": OFFLINE_WITHOUT_LITERAL_BINDS})
    result = verify(project, "--stage", "lint")
    assert result.code == 0, result.stdout + result.stderr
    codes = [(f["code"], f["revision"]) for f in result.findings("lint")]
    assert ("sql-unparsable", "0002") not in codes, result.stdout
    assert ("offline-unsupported", "0002") not in codes, result.stdout


# --- Alembic's bookkeeping table under another name --------------------------------------

def test_a_version_table_of_another_name_is_not_schema(verify, tmp_path):
    # litestar-fullstack (advanced_alchemy) names it ddl_version. env.py says so only when it
    # runs, after the database the suite snapshots is set up.
    project = build_project(tmp_path / "project", [items_revision(), FILL_NAMES], models=ITEMS_MODELS)
    env = project / "migrations" / "env.py"
    named = 'target_metadata=target_metadata, version_table="ddl_version"'
    env.write_text(env.read_text().replace("target_metadata=target_metadata", named))
    assert env.read_text().count(named) == 2  # offline and online
    assert_clean(verify(project))


# --- revisions whose import does migration work -------------------------------------------

KIND_MODELS = ITEMS_MODELS + """\
items.append_column(sa.Column("kind", sa.Enum("a", "b", name="item_kind"), nullable=True))
"""
ADD_KIND = Rev("0002", "0001", 'op.add_column("items", sa.Column("kind", kind, nullable=True))',
               'op.drop_column("items", "kind")\nkind.drop(op.get_bind())')
CREATES_ON_IMPORT = """depends_on = None

kind = sa.Enum("a", "b", name="item_kind", create_type=False)
try:
    sa.Enum("a", "b", name="item_kind").create(op.get_bind(), checkfirst=True)
except NameError:  # no migration context: `alembic history` imports this file too
    pass
"""


def test_a_revision_that_creates_a_type_when_imported_gets_it_in_every_step(verify, tmp_path):
    # FitTrackee's shape: Alembic imports the file inside the migration context, once per
    # command; the type must be there for the upgrade, and again for the re-upgrade.
    project = build_project(tmp_path / "project", [items_revision(), ADD_KIND], models=KIND_MODELS)
    revision = project / "migrations" / "versions" / ADD_KIND.filename
    revision.write_text(revision.read_text().replace("depends_on = None\n", CREATES_ON_IMPORT))
    assert_clean(verify(project))
