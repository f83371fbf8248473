"""Tiny Alembic projects for the tests, written from a few lines each.

A project is alembic.ini, migrations/env.py (one of the variants in tests/fixtures/envs/),
one file per revision written from short upgrade/downgrade bodies, and an `app` package
holding the models. Each test declares its project next to its assertions, so the one
defect a fixture carries is visible where it is checked.
"""

from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy

ENVS = Path(__file__).resolve().parent / "fixtures" / "envs"

# The driver fixture projects name in their own URLs: one their SQLAlchemy has (1.4, run by
# the compat session, has no psycopg 3 dialect), as a real project's would be.
FIXTURE_DBAPI = "psycopg" if int(sqlalchemy.__version__.split(".")[0]) >= 2 else "psycopg2"
FIXTURE_DRIVER = f"postgresql+{FIXTURE_DBAPI}"

# env.py variants are expected to override this URL; nothing may ever reach it.
ALEMBIC_INI = f"""\
[alembic]
script_location = %(here)s/migrations
prepend_sys_path = .
sqlalchemy.url = {FIXTURE_DRIVER}://nobody@unreachable.invalid/none

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = INFO
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %(levelname)s [%(name)s] %(message)s
"""

# The models most fixtures share: one table, and the revision that creates it.
ITEMS_MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False))
"""
CREATE_ITEMS = """\
op.create_table("items", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.Text, nullable=False))
"""
DROP_ITEMS = 'op.drop_table("items")'
# A second table with an enum type of its own, which drop_table leaves behind.
TAGS_MODELS = ITEMS_MODELS + """\
tag_kind = sa.Enum("red", "blue", name="tag_kind")
tags = sa.Table("tags", metadata, sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("kind", tag_kind, nullable=False))
"""
CREATE_TAGS = """\
op.create_table("tags", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("kind", sa.Enum("red", "blue", name="tag_kind"), nullable=False))
"""

# Makes the role `reporting` for revisions that grant to it, whichever database runs one
# first: roles belong to the whole server, and are never dropped, as a real role is not.
MAKE_REPORTING_ROLE = """\
op.execute("DO $$ BEGIN CREATE ROLE reporting NOLOGIN; "
           "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$")
"""


@dataclass
class Rev:
    """One revision file. `id=None` writes a file without a revision id; `downgrade=None`
    one without a downgrade() function."""

    id: str | None
    down: str | tuple[str, ...] | None
    upgrade: str = "pass"
    downgrade: str | None = "pass"
    file: str | None = None
    labels: tuple[str, ...] | None = None  # its branch_labels

    @property
    def filename(self) -> str:
        return self.file or f"{self.id}_revision.py"

    def source(self) -> str:
        lines = ['"""A fixture revision."""', "import sqlalchemy as sa", "from alembic import op", ""]
        if self.id is not None:
            lines.append(f"revision = {self.id!r}")
        lines += [f"down_revision = {self.down!r}", f"branch_labels = {self.labels!r}", "depends_on = None",
                  ""]
        lines += _function("upgrade", self.upgrade)
        if self.downgrade is not None:
            lines += _function("downgrade", self.downgrade)
        return "\n".join(lines)


# App settings read once, at import, from POSTGRES_* variables (as FastAPI's template does),
# and the suite's settings that fill them from the throwaway server.
APP_SETTINGS = """\
import os

DATABASE_URI = "DRIVER://{}:{}@{}:{}/{}".format(
    os.environ["POSTGRES_USER"], os.environ["POSTGRES_PASSWORD"], os.environ["POSTGRES_SERVER"],
    os.environ["POSTGRES_PORT"], os.environ["POSTGRES_DB"])
""".replace("DRIVER", FIXTURE_DRIVER)
APP_SETTINGS_ENV = """\
[tool.alembic-preflight.env]
POSTGRES_SERVER = "{host}"
POSTGRES_PORT = "{port}"
POSTGRES_USER = "{user}"
POSTGRES_PASSWORD = "{password}"
POSTGRES_DB = "{database}"
"""


def items_revision(id_: str = "0001") -> Rev:
    return Rev(id_, None, CREATE_ITEMS, DROP_ITEMS)


def _function(name: str, body: str) -> list[str]:
    return ["", f"def {name}():", textwrap.indent(textwrap.dedent(body).strip() or "pass", "    "), ""]


def per_migration_env(env: str = "sync_template") -> str:
    """An env.py of ENVS that commits each revision on its own (transaction_per_migration),
    as a deploy of that revision alone would."""
    text = (ENVS / f"{env}.py").read_text()
    configure = "context.configure(connection=connection, target_metadata=target_metadata)"
    assert configure in text, env
    return text.replace(configure, configure[:-1] + ", transaction_per_migration=True)")


def build_project(root: Path, revisions: list[Rev], models: str = ITEMS_MODELS, env: str = "sync_template",
                  settings: str | None = None, files: dict[str, str] | None = None,
                  package_dir: str = ".") -> Path:
    """Write a project into `root` and return it.

    `settings` is the body of [tool.alembic-preflight] in pyproject.toml; `files` adds or
    replaces files by relative path; `package_dir` is where the `app` package goes.
    """
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "alembic.ini").write_text(ALEMBIC_INI)
    shutil.copyfile(ENVS / f"{env}.py", root / "migrations" / "env.py")
    for rev in revisions:
        (versions / rev.filename).write_text(rev.source())
    app = root / package_dir / "app"
    app.mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "models.py").write_text(models)
    if settings is not None:
        (root / "pyproject.toml").write_text(f"[tool.alembic-preflight]\n{textwrap.dedent(settings)}")
    for relative, text in (files or {}).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


CORE_STAGES = ("files", "heads", "fresh", "drift", "roundtrip")


def assert_clean(result) -> None:
    """Every stage ran and none failed: no false alarm on a correct project.

    The checklist's stages must pass outright; a stage added later (lint) may warn, and so
    may fresh about the locks it measured the revisions take (deploy-lock and the like),
    which a correct project takes too.
    """
    assert result.code == 0, f"exit {result.code}\n{result.stdout}\n{result.stderr}"
    assert result.report is not None, result.stderr
    statuses = {s["name"]: s["status"] for s in result.report["stages"]}
    if statuses.get("fresh") == "warn":
        warned = {f["code"] for f in result.findings("fresh") if f["severity"] == "warning"}
        assert warned <= {"deploy-lock", "deploy-rewrite", "deploy-scan"}, result.stdout
        statuses["fresh"] = "pass"
    assert {name: statuses.get(name) for name in CORE_STAGES} == dict.fromkeys(CORE_STAGES, "pass"), \
        result.stdout
    assert set(statuses.values()) <= {"pass", "warn"}, result.stdout


def assert_usage_error(result, *fragments: str, secrets: tuple[str, ...] = ()) -> str:
    """Exit 2 with exactly one line on stderr, no traceback, no secret anywhere; returns the line."""
    lines = result.stderr.strip().splitlines()
    assert result.code == 2, f"exit {result.code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr
    line = lines[0]
    assert line.startswith("error: "), line
    for fragment in fragments:
        assert fragment in line, f"{fragment!r} not in {line!r}"
    assert_no_secret(result, *secrets)
    return line


def assert_no_secret(result, *secrets: str) -> None:
    report = str(result.report) if result.report is not None else ""
    for secret in secrets:
        for name, text in (("stdout", result.stdout), ("stderr", result.stderr), ("report", report)):
            assert secret not in text, f"{secret!r} leaked into {name}:\n{text}"
