"""Pickup codes and hand-out: each allocated household line gets a code, and the time it was handed out.

Revision ID: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pool_intents") as table:
        table.add_column(sa.Column("pickup_code", sa.String(16), nullable=True))
        table.add_column(sa.Column("handed_out_at", sa.Float, nullable=True))
    op.create_index("ix_pool_intents_pickup_code", "pool_intents", ["pickup_point", "pickup_code"])


def downgrade() -> None:
    op.drop_index("ix_pool_intents_pickup_code", "pool_intents")
    with op.batch_alter_table("pool_intents") as table:
        table.drop_column("handed_out_at")
        table.drop_column("pickup_code")
