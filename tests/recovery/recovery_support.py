"""What the recovery tests share: a project with two revisions and rows to lose.

Revision 0002 adds a column whose downgrade drops it: the data a careless downgrade
loses, and that the backup taken first must still hold.
"""

from __future__ import annotations

from projects import Rev

NOTES_MODELS = """\
import sqlalchemy as sa

metadata = sa.MetaData()
items = sa.Table("items", metadata,
                 sa.Column("id", sa.Integer, primary_key=True),
                 sa.Column("name", sa.Text, nullable=False),
                 sa.Column("note", sa.Text))
"""
ADD_NOTE = Rev("0002", "0001", 'op.add_column("items", sa.Column("note", sa.Text))',
               'op.drop_column("items", "note")')
ROWS = [(1, "one", "keep me"), (2, "two", None), (3, "three", "and me")]


def table(pg_server, database: str, sql: str = "SELECT * FROM items ORDER BY id") -> list[tuple]:
    with pg_server.connect(database) as conn:
        return conn.execute(sql).fetchall()


def columns(pg_server, database: str) -> list[tuple]:
    return table(pg_server, database,
                 "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
                 "WHERE table_schema = 'public' ORDER BY 1, 2")


def backup_path(stdout: str):
    """The file a task says it backed up to (its 'backed up ... to PATH' line)."""
    from pathlib import Path

    lines = [line for line in stdout.splitlines() if ": backed up " in line]
    assert len(lines) == 1, f"expected one backup line in:\n{stdout}"
    return Path(lines[0].rsplit(" to ", 1)[1])
