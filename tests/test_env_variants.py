"""env.py files as they are found in the wild, and the settings that serve them.

Each project here is correct: every stage must pass. A failure is a false alarm, or a
kind of project the suite cannot run, which the issue counts as a bug of the suite.
"""

from __future__ import annotations

import pytest
from cli_support import EXAMPLE, needs_example
from projects import (
    APP_SETTINGS,
    APP_SETTINGS_ENV,
    ITEMS_MODELS,
    Rev,
    assert_clean,
    build_project,
    items_revision,
)

APP_CONTEXT = """\
from app import models

_current = None


class App:
    metadata = models.metadata


def current_app():
    if _current is None:
        raise RuntimeError("Working outside of application context.")
    return _current


def in_app_context(call):
    global _current
    _current = App()
    try:
        call()
    finally:
        _current = None
"""
# The first revision expects `items` to exist already: the app created it with create_all.
BOOTSTRAP = """\
import sqlalchemy as sa


def create_tables(connection):
    sa.Table("items", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("name", sa.Text, nullable=False)).create(connection)
"""
ITEMS_WITH_NOTE = ITEMS_MODELS + 'items.append_column(sa.Column("note", sa.Text))\n'
ADD_NOTE = Rev("0001", None, 'op.add_column("items", sa.Column("note", sa.Text))',
               'op.drop_column("items", "note")')
# Tables registered by a module env.py never imports.
EXTRA_TABLES = """\
import sqlalchemy as sa

from app.models import metadata

tags = sa.Table("tags", metadata, sa.Column("id", sa.Integer, primary_key=True))
"""
CREATE_TAGS = Rev("0002", "0001", 'op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True))',
                  'op.drop_table("tags")')
# Objects the models do not describe, made by migrations on purpose.
UNMODELLED = Rev("0002", "0001", """\
op.add_column("items", sa.Column("search", sa.dialects.postgresql.TSVECTOR))
op.create_table("legacy_log", sa.Column("id", sa.Integer, primary_key=True))
""", 'op.drop_table("legacy_log")\nop.drop_column("items", "search")')

VARIANTS = {
    "sync template": dict(env="sync_template"),
    "connection attribute": dict(env="connection"),
    "DATABASE_URL": dict(env="database_url"),
    "async template": dict(env="async_template"),
    "app settings": dict(env="app_settings", settings=APP_SETTINGS_ENV,
                         files={"app/settings.py": APP_SETTINGS}),
    "bootstrap hook": dict(revisions=[ADD_NOTE], models=ITEMS_WITH_NOTE, files={
        "app/bootstrap.py": BOOTSTRAP,
        "alembic-preflight.toml": 'bootstrap = "app.bootstrap:create_tables"\n'}),
    "runner hook": dict(env="app_context", settings='runner = "app.context:in_app_context"\n',
                        files={"app/context.py": APP_CONTEXT}),
    "extra sys_path": dict(package_dir="src", settings='sys_path = ["src"]\n'),
    "metadata modules": dict(revisions=[items_revision(), CREATE_TAGS], files={"app/tags.py": EXTRA_TABLES},
                             settings='metadata_modules = ["app.tags"]\n'),
    "ignore list": dict(revisions=[items_revision(), UNMODELLED],
                        settings='ignore = ["items.search", "legacy_log"]\n'),
    "env.py's include_object": dict(env="include_object", revisions=[
        items_revision(), Rev("0002", "0001", 'op.create_table("legacy_log", sa.Column("id", sa.Integer))',
                              'op.drop_table("legacy_log")')]),
    "--metadata": dict(env="no_metadata", args=("--metadata", "app.models:metadata")),
    # The shared connection used as an Engine: one transaction, the suite's, for every shape.
    "connectable.connect()": dict(env="connect_attribute"),
    "connectable.begin()": dict(env="begin_attribute"),
    "cookbook connectable": dict(env="cookbook_connectable"),
    "pytest-alembic style": dict(env="pytest_alembic_style"),
    "pytest-alembic async": dict(env="pytest_alembic_async"),
    # ... and one that awaits whatever the attribute holds: the shared connection answers as
    # an AsyncEngine too.
    "attribute as an AsyncEngine": dict(env="async_attribute"),
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_correct_project_passes_every_stage(verify, tmp_path, variant):
    spec = dict(VARIANTS[variant])
    args = spec.pop("args", ())
    spec.setdefault("revisions", [items_revision()])
    assert_clean(verify(build_project(tmp_path / "project", **spec), *args))


# CREATE INDEX CONCURRENTLY as the lint rule advises: Alembic must own the transaction to
# commit around the block, whichever way env.py reaches the database.
CONCURRENT_INDEX = Rev("0002", "0001", """\
with op.get_context().autocommit_block():
    op.create_index("ix_items_name", "items", ["name"], postgresql_concurrently=True)
""", """\
with op.get_context().autocommit_block():
    op.drop_index("ix_items_name", table_name="items", postgresql_concurrently=True)
""")
INDEXED_MODELS = ITEMS_MODELS + 'sa.Index("ix_items_name", items.c.name)\n'


@pytest.mark.parametrize("env", ["sync_template", "connection", "connect_attribute", "cookbook_connectable",
                                 "pytest_alembic_style", "async_template"])
def test_autocommit_blocks_run_whatever_the_env_py_shape(verify, tmp_path, env):
    project = build_project(tmp_path / "project", [items_revision(), CONCURRENT_INDEX],
                            models=INDEXED_MODELS, env=env)
    assert_clean(verify(project))


@needs_example
def test_bundled_example_passes_every_stage(verify):
    assert_clean(verify(EXAMPLE))


def test_without_its_metadata_module_the_extra_tables_are_drift(verify, tmp_path):
    # The same project as "metadata modules", minus the setting: proves the setting is used.
    spec = dict(VARIANTS["metadata modules"])
    del spec["settings"]
    result = verify(build_project(tmp_path / "project", **spec), "--stage", "drift")
    assert result.code == 1
    assert [f["object"] for f in result.findings("drift")] == ["tags"]


def test_bootstrap_is_what_makes_the_first_revision_apply(verify, tmp_path):
    spec = dict(VARIANTS["bootstrap hook"], files={"app/bootstrap.py": BOOTSTRAP})
    result = verify(build_project(tmp_path / "project", **spec), "--stage", "fresh")
    [finding] = result.findings("fresh")
    assert (finding["code"], finding["revision"]) == ("upgrade-failed", "0001")

