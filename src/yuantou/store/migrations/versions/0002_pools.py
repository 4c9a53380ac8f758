"""Pools and the households' intents in them (buyer nodes).

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pools",
        sa.Column("pool_id", sa.String(64), primary_key=True),
        sa.Column("terms", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cutoff", sa.Float, nullable=False),
        sa.Column("outcome", sa.Text),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("closed_at", sa.Float),
    )
    op.create_index("ix_pools_status_cutoff", "pools", ["status", "cutoff"])
    op.create_table(
        "pool_intents",
        sa.Column("intent_id", sa.String(64), primary_key=True),
        sa.Column("pool_id", sa.String(64), nullable=False),
        sa.Column("household", sa.String(128), nullable=False),
        sa.Column("spec", sa.Text, nullable=False),
        sa.Column("min_quantity", sa.Integer, nullable=False),
        sa.Column("max_quantity", sa.Integer, nullable=False),
        sa.Column("max_price", sa.Integer, nullable=False),
        sa.Column("pickup_point", sa.String(128), nullable=False),
        sa.Column("window_start", sa.Float, nullable=False),
        sa.Column("window_end", sa.Float, nullable=False),
        sa.Column("joined_at", sa.Float, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer),
        sa.Column("unit_price", sa.Integer),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_pool_intents_pool", "pool_intents", ["pool_id", "status"])
    op.create_index("ix_pool_intents_household", "pool_intents", ["household"])


def downgrade() -> None:
    op.drop_table("pool_intents")
    op.drop_table("pools")
