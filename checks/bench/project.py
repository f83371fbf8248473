"""Write a generated history out as an ordinary Alembic project a user could have.

Its env.py takes a connection (or an engine, as pytest-alembic hands over) from
config.attributes, else DATABASE_URL, so the suite, pytest-alembic and a bare
`alembic upgrade head` all run the very same files.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from checks.bench.history import MERGES, History

PACKAGE = "benchapp"

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
prepend_sys_path = %(here)s
sqlalchemy.url = postgresql+psycopg://localhost/benchapp

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARNING
handlers = console
qualname =

[logger_sqlalchemy]
level = WARNING
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""

ENV_PY = '''\
"""Alembic environment of the generated benchmark project."""

import os
import re
from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Engine

from benchapp.models import metadata

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = metadata


SCHEMAS = (None, "reporting")
PARTITION = re.compile(r"_p[0-9]+$")  # declared by op.execute, not by the models


def include_name(name, type_, parent_names) -> bool:
    return type_ != "schema" or name in SCHEMAS


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and reflected and compare_to is None and PARTITION.search(name))


def run_with(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                      include_schemas=True, include_name=include_name, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None and not isinstance(given, Engine):
        run_with(given)
        return
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    engine = given or create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        run_with(connection)
        connection.commit()


def run_migrations_offline() -> None:
    context.configure(url=os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata, literal_binds=True,
                      dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

SCRIPT_MAKO = '''\
"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
Create Date: ${create_date}

"""
import sqlalchemy as sa
from alembic import op
${imports if imports else ""}
revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = ${repr(branch_labels)}
depends_on = ${repr(depends_on)}


def upgrade() -> None:
    ${upgrades if upgrades else "pass"}


def downgrade() -> None:
    ${downgrades if downgrades else "pass"}
'''


@dataclass(frozen=True)
class GeneratedProject:
    root: Path
    revisions: int
    tables: int
    head: str
    ids: tuple[str, ...] = ()  # the revisions in the order they were written, base first

    @property
    def alembic_ini(self) -> Path:
        return self.root / "alembic.ini"

    def positions(self) -> dict[str, int]:
        """Each revision's number in the history, from 1 at its base."""
        return {revision: number for number, revision in enumerate(self.ids, start=1)}


def generate(root: Path, revisions: int = 200, tables: int = 60, seed: int = 7,
             merges: int = len(MERGES)) -> GeneratedProject:
    """Write the project under `root` (replacing what a previous run left there)."""
    history = History(revisions, tables, seed, merges)
    if root.exists():
        shutil.rmtree(root)
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    (root / "migrations" / "env.py").write_text(ENV_PY)
    (root / "migrations" / "script.py.mako").write_text(SCRIPT_MAKO)
    package = root / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(history.models_source())
    for number, rev in enumerate(history.revisions, start=1):
        slug = "_".join(rev.message.split()[:3]).replace(".", "_")[:40]
        (versions / f"{number:04d}_{rev.id}_{slug}.py").write_text(history.revision_source(rev))
    return GeneratedProject(root, revisions, len(history.tables), history.revisions[-1].id,
                            tuple(rev.id for rev in history.revisions))
