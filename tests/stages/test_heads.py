"""heads: a history that forks must be merged before it ships."""

from __future__ import annotations

from projects import Rev, build_project, items_revision

ITEMS_AB = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata, sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False), sa.Column("a", sa.Integer),
                 sa.Column("b", sa.Integer))
"""


def branch(revision: str, column: str) -> Rev:
    return Rev(revision, "0001", f'op.add_column("items", sa.Column("{column}", sa.Integer))',
               f'op.drop_column("items", "{column}")')


def test_two_heads_are_named_with_the_merge_command(verify, tmp_path):
    revisions = [items_revision(), branch("0002", "a"), branch("0003", "b")]
    project = build_project(tmp_path / "project", revisions, models=ITEMS_AB)
    result = verify(project, "--stage", "files", "--stage", "heads")

    assert result.code == 1, result.stdout + result.stderr
    assert result.stage("files")["status"] == "pass"
    [finding] = result.findings("heads")
    assert finding["code"] == "multiple-heads"
    assert set(finding["object"].split()) == {"0002", "0003"}
    assert "0002_revision.py" in finding["message"] and "0003_revision.py" in finding["message"]
    [command] = [line for line in result.stdout.splitlines() if "alembic merge" in line]
    assert command.split("alembic merge -m 'merge heads' ")[1].split() == ["0002", "0003"], \
        f"the printed command merges both heads: {command}"
