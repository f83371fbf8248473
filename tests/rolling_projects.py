"""Fixture projects for the rolling stage: a previous release and a change, in a git repository.

Each is a git repository of two commits: the previous release (its models and its
history, tagged `v1`, on main), then the change (new models and one new revision) on a
branch checked out.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from projects import Rev, build_project

PREVIOUS_MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False, unique=True),
                 sa.Column("note", sa.Text))
"""
CREATE = Rev("0001", None, """\
op.create_table("items", sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.Text, nullable=False, unique=True),
                sa.Column("note", sa.Text))
""", 'op.drop_table("items")', file="0001_items.py")
# The previous release that no longer reads `note` (the expand/contract way to drop it).
WITHOUT_NOTE = PREVIOUS_MODELS.replace('                 sa.Column("note", sa.Text))\n', "")
WITHOUT_NOTE = WITHOUT_NOTE.replace("unique=True),", "unique=True))")


def _models(*columns: str, base: str = WITHOUT_NOTE) -> str:
    return base[:-2] + "".join(f",\n                 {c}" for c in columns) + ")\n"


# The previous release's class no longer maps `note`, which its table still declares.
MAPPED_WITHOUT_NOTE = PREVIOUS_MODELS + """\
from sqlalchemy.orm import declarative_base

Base = declarative_base(metadata=metadata)


class Item(Base):
    __table__ = items
    __mapper_args__ = {"exclude_properties": ["note"]}
"""

CHANGES = {
    # name: (previous release's models, new models, the new revision's upgrade, its downgrade)
    "drop": (PREVIOUS_MODELS, WITHOUT_NOTE,
             'op.drop_column("items", "note")', 'op.add_column("items", sa.Column("note", sa.Text))'),
    "rename": (PREVIOUS_MODELS, _models('sa.Column("memo", sa.Text)'),
               'op.alter_column("items", "note", new_column_name="memo")',
               'op.alter_column("items", "memo", new_column_name="note")'),
    "not-null": (PREVIOUS_MODELS, _models('sa.Column("note", sa.Text)',
                                          'sa.Column("price", sa.Integer, nullable=False)'),
                 'op.add_column("items", sa.Column("price", sa.Integer))\n'
                 'op.execute("UPDATE items SET price = 0")\n'
                 'op.alter_column("items", "price", nullable=False)',
                 'op.drop_column("items", "price")'),
    # The same three, the expand/contract way.
    "drop-after-release-stopped-reading": (WITHOUT_NOTE, WITHOUT_NOTE,
                                           'op.drop_column("items", "note")',
                                           'op.add_column("items", sa.Column("note", sa.Text))'),
    "drop-after-release-stopped-mapping": (MAPPED_WITHOUT_NOTE, WITHOUT_NOTE,
                                           'op.drop_column("items", "note")',
                                           'op.add_column("items", sa.Column("note", sa.Text))'),
    "rename-as-add-and-backfill": (PREVIOUS_MODELS, _models('sa.Column("note", sa.Text)',
                                                            'sa.Column("memo", sa.Text)'),
                                   'op.add_column("items", sa.Column("memo", sa.Text))\n'
                                   'op.execute("UPDATE items SET memo = note")',
                                   'op.drop_column("items", "memo")'),
    "not-null-with-default": (PREVIOUS_MODELS, _models('sa.Column("note", sa.Text)',
                                                       'sa.Column("price", sa.Integer, nullable=False, '
                                                       'server_default="0")'),
                              'op.add_column("items", sa.Column("price", sa.Integer, nullable=False, '
                              'server_default="0"))',
                              'op.drop_column("items", "price")'),
}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


def released(root: Path, change: str, first: str | None = None) -> Path:
    """The previous release committed on main and tagged v1; the change committed on a
    branch: its revision 0002, or with `first` (an upgrade that leaves the previous release
    working) that as 0002 and the change as 0003."""
    previous, new, upgrade, downgrade = CHANGES[change]
    project = build_project(root, [CREATE], models=previous)
    git(project, "init", "-q", "-b", "main")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "release 1")
    git(project, "tag", "v1")
    git(project, "checkout", "-q", "-b", "change")
    (project / "app" / "models.py").write_text(new)
    revisions = [Rev("0002", "0001", upgrade, downgrade, file="0002_change.py")]
    if first is not None:
        revisions = [Rev("0002", "0001", first, "pass", file="0002_first.py"),
                     Rev("0003", "0002", upgrade, downgrade, file="0003_change.py")]
    for rev in revisions:
        (project / "migrations" / "versions" / rev.filename).write_text(rev.source())
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "the change")
    return project
