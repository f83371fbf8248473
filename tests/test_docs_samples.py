"""The console output the manual shows for each stage is what the suite prints: each sample
in docs/stages.md (the ```text block after a `<!-- sample: NAME -->` line) is the output of
a run on the fixture project below, its timings, port, paths and server version aside.

A change to a stage's wording fails here; `ALEMBIC_PREFLIGHT_WRITE_SAMPLES=1 pytest
tests/test_docs_samples.py` writes the new output into the page, to be read and committed.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from cli_support import EXAMPLE, ROOT, needs_example, run_cli
from doc_pages import normalized_output
from projects import (
    CREATE_TAGS,
    ITEMS_MODELS,
    TAGS_MODELS,
    Rev,
    build_project,
    items_revision,
    per_migration_env,
)

PAGE = ROOT / "docs" / "stages.md"
WRITE = os.environ.get("ALEMBIC_PREFLIGHT_WRITE_SAMPLES") == "1"
SHOWN_AS = "~/app"  # where the sample says the project is

# The bundled example, plus a revision that works only on empty tables.
LOYALTY = '''"""count loyalty points per customer"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column("customers", sa.Column("loyalty_points", sa.Integer(), nullable=False))


def downgrade() -> None:
    op.drop_column("customers", "loyalty_points")
'''
LABEL_MODELS = ITEMS_MODELS + 'items.append_column(sa.Column("label", sa.Text))\n'
AUDIT_MODELS = ITEMS_MODELS + (
    'audit = sa.Table("audit", metadata, sa.Column("id", sa.Integer, primary_key=True),\n'
    '                 sa.Column("note", sa.Text))\n')
AB_MODELS = ITEMS_MODELS + 'items.append_column(sa.Column("a", sa.Integer))\n' \
                           'items.append_column(sa.Column("b", sa.Integer))\n'
NAMELESS_MODELS = ITEMS_MODELS.replace(',\n                 sa.Column("name", sa.Text, nullable=False))', ')')


SCORE = 'op.execute("ALTER TABLE items ADD COLUMN IF NOT EXISTS score {}")'


def _column(revision: str, column: str) -> Rev:
    return Rev(revision, "0001", f'op.add_column("items", sa.Column("{column}", sa.Integer))',
               f'op.drop_column("items", "{column}")', file=f"{revision}_{column}.py")


DEPLOY = [Rev("0001", None, 'op.create_table("items", sa.Column("id", sa.Integer, primary_key=True),\n'
                            '                sa.Column("n", sa.Integer), sa.Column("name", sa.Text))'),
          Rev("0002", "0001", 'op.alter_column("items", "n", type_=sa.BigInteger)', file="0002_bigint.py"),
          Rev("0003", "0002", 'op.create_index("ix_items_name", "items", ["name"])', file="0003_index.py"),
          Rev("0004", "0003", 'op.add_column("items", sa.Column("qty", sa.Integer, server_default="0"))',
              file="0004_qty.py")]
# name -> (revisions, models, the stages run); no revisions: the example and LOYALTY
SAMPLES = {
    "files": ([items_revision(), Rev("0002", "0999", file="0002_orphan.py")], ITEMS_MODELS, ["files"]),
    "heads": ([items_revision(), _column("0002", "a"), _column("0003", "b")], AB_MODELS, ["files", "heads"]),
    "fresh": ([items_revision(), Rev("0002", "0001", 'op.add_column("audit", sa.Column("note", sa.Text))',
                                     'op.drop_column("audit", "note")', file="0002_audit_note.py")],
              AUDIT_MODELS, ["fresh"]),
    "merge-order": ([items_revision(), Rev("0002", "0001", SCORE.format("integer"), file="0002_score_int.py"),
                     Rev("0003", "0001", SCORE.format("text"), file="0003_score_text.py"),
                     Rev("0004", ("0002", "0003"), file="0004_merge.py")], ITEMS_MODELS, ["merge-order"]),
    "drift": ([items_revision()], LABEL_MODELS, ["drift"]),
    "deploy": (DEPLOY, ITEMS_MODELS, ["fresh"]),
    "roundtrip": ([items_revision(), Rev("0002", "0001", CREATE_TAGS, 'op.drop_table("tags")',
                                         file="0002_tags.py")], TAGS_MODELS, ["roundtrip"]),
    "recovery": (None, None, ["recovery"]),
    "lint": ([items_revision(), Rev("0002", "0001", 'op.drop_column("items", "name")',
                                    'op.add_column("items", sa.Column("name", sa.Text))',
                                    file="0002_drop_name.py")], NAMELESS_MODELS, ["lint"]),
}
# name -> (files the project gets, arguments the run gets)
OPTIONS = {"deploy": ({"migrations/env.py": per_migration_env()}, ["-v"])}
BLOCK = re.compile(r"(<!-- sample: (?P<name>[a-z-]+) -->\n```text\n)(?P<body>.*?)(^```)", re.S | re.M)


def shown_blocks(text: str) -> dict[str, str]:
    return {m["name"]: m["body"] for m in BLOCK.finditer(text)}


def sample_output(name: str, tmp_path: Path, url: str) -> str:
    revisions, models, stages = SAMPLES[name]
    files, args = OPTIONS.get(name, ({}, []))
    if revisions is None:
        project = Path(shutil.copytree(EXAMPLE, tmp_path / "app", ignore=shutil.ignore_patterns(
            "__pycache__", ".alembic-preflight")))
        (project / "migrations" / "versions" / "0004_loyalty_points.py").write_text(LOYALTY)
    else:
        project = build_project(tmp_path / "app", revisions, models=models, files=files)
    result = run_cli("verify", "--project", str(project), "--quiet-progress", *args,
                     *(arg for stage in stages for arg in ("--stage", stage)), url=url)
    assert result.code in (0, 1), result.stdout + result.stderr
    return result.stdout.replace(str(project), SHOWN_AS)


def test_every_sample_in_the_page_has_a_project_and_back():
    assert set(shown_blocks(PAGE.read_text())) == set(SAMPLES)


@needs_example
@pytest.mark.parametrize("name", SAMPLES)
def test_the_sample_is_what_the_stage_prints(name, pg_server, tmp_path):
    url = pg_server.url(pg_server.endpoint.maintenance_db).render_as_string(hide_password=False)
    output = sample_output(name, tmp_path, url)
    page = PAGE.read_text()
    if WRITE:
        def replaced(match: re.Match) -> str:
            return match.group(1) + (output if match["name"] == name else match["body"]) + match.group(4)

        PAGE.write_text(BLOCK.sub(replaced, page))
        return
    assert normalized_output(shown_blocks(page)[name]) == normalized_output(output), \
        f"docs/stages.md's {name} sample is stale; this run printed:\n{output}"
