"""Pools are bought from producers: a procurement state per pool and one row per producer order.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("pools", sa.Column("procurement", sa.String(16), nullable=True))
    op.add_column("pools", sa.Column("procurement_note", sa.Text, nullable=True))
    op.create_index("ix_pools_procurement", "pools", ["procurement"])
    op.create_table(
        "pool_orders",
        sa.Column("order_key", sa.String(64), primary_key=True),
        sa.Column("pool_id", sa.String(64), nullable=False),
        sa.Column("producer_id", sa.String(255), nullable=False),
        sa.Column("bpp_uri", sa.Text, nullable=False),
        sa.Column("provider_id", sa.String(255), nullable=False),
        sa.Column("item_id", sa.String(255), nullable=False),
        sa.Column("window_id", sa.String(128), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price", sa.Integer, nullable=False),
        sa.Column("cost", sa.String(40), nullable=False),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64)),
        sa.Column("deadline", sa.Float),
        sa.Column("order_id", sa.String(128)),
        sa.Column("order_status", sa.String(32)),
        sa.Column("fulfillment", sa.String(32)),
        sa.Column("quoted", sa.String(40)),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_pool_orders_pool", "pool_orders", ["pool_id"])
    op.create_index("ix_pool_orders_message", "pool_orders", ["message_id"])
    op.create_index("ix_pool_orders_order", "pool_orders", ["order_id"])
    op.create_index("ix_pool_orders_stage_deadline", "pool_orders", ["stage", "deadline"])


def downgrade() -> None:
    op.drop_table("pool_orders")
    op.drop_index("ix_pools_procurement", "pools")
    with op.batch_alter_table("pools") as batch:
        batch.drop_column("procurement_note")
        batch.drop_column("procurement")
