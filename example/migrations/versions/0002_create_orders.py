"""create orders with their status enum

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

order_status = sa.Enum("pending", "paid", "shipped", name="order_status")


def upgrade() -> None:
    # The foreign key locks customers against writes while the table is created: give up
    # (and retry the deploy) rather than queue every query on customers behind a long one.
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("status", order_status, nullable=False, server_default="pending"),
        sa.Column("total", sa.Numeric(12, 2), nullable=False, server_default="0"),
        sa.CheckConstraint("total >= 0", name=op.f("ck_orders_total_not_negative")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE",
                                name="fk_orders_customer_id_customers"),
        sa.PrimaryKeyConstraint("id", name="pk_orders"),
    )
    op.create_index("ix_orders_unshipped", "orders", ["customer_id"],
                    postgresql_where=sa.text("status <> 'shipped'"))


def downgrade() -> None:
    op.drop_index("ix_orders_unshipped", table_name="orders")
    op.drop_table("orders")
    order_status.drop(op.get_bind(), checkfirst=False)
