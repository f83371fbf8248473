"""add free-text notes to customers

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A short lock timeout: if a long query holds the table, fail fast instead of
    # queueing every other session behind this ALTER.
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.add_column("customers", sa.Column("notes", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_column("customers", "notes")
