"""The base revision's file: pg_dump's statements run by op.execute, one statement per call."""

from __future__ import annotations

import ast
from datetime import UTC, datetime

from checks.squash.dump import Statements

_TEMPLATE = '''"""{title}

Revision ID: {revision}
Revises:
Create Date: {created}

Written by alembic-preflight squash: upgrade() builds the schema the history built at
{revision}, read back from PostgreSQL {major} by pg_dump. It replaces {count} revisions,
whose files were moved to {archive}.
"""

import re

import sqlalchemy as sa
from alembic import op

revision = {revision!r}
down_revision = None
branch_labels = {labels!r}
depends_on = None

# Roles belong to the server, not to the database: the ones the grants name are made if
# missing, and never dropped.
ROLES = [
{roles}
]

UPGRADE = [
{upgrade}
]

DOWNGRADE = [
{downgrade}
]


def _run(statements):
    for statement in statements:
        # text() would read ":name" as a bind parameter; a backslash keeps it as written.
        op.execute(sa.text(re.sub(r"(?<![:\\w\\\\]):(?=\\w)", r"\\\\:", statement)))


def upgrade():
    # A function's body may name a table created after it, as pg_dump orders them.
    op.execute("SET check_function_bodies = false")
    _run(ROLES)
    _run(UPGRADE)
    op.execute("RESET check_function_bodies")
    op.execute("RESET default_table_access_method")


def downgrade():
    _run(DOWNGRADE)
'''


def render(revision: str, labels, statements: Statements, count: int, archive: str, major: int,
           title: str | None = None) -> str:
    """The text of the base revision file."""
    return _TEMPLATE.format(
        title=title or f"squashed history: the schema of {revision}", revision=revision,
        created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"), major=major, count=count,
        archive=archive, labels=tuple(labels) if labels else None,
        roles="\n".join(f"    {_literal(s)}," for s in statements.roles),
        upgrade="\n".join(f"    {_literal(s)}," for s in statements.create),
        downgrade="\n".join(f"    {_literal(s)}," for s in statements.drop))


def _literal(statement: str) -> str:
    """`statement` as Python source a reader can read: a raw triple-quoted string when that
    reads back as the same text, repr() otherwise."""
    raw = f'r"""{statement}"""'
    try:
        if ast.literal_eval(raw) == statement:
            return raw
    except (SyntaxError, ValueError):
        pass
    return repr(statement)
