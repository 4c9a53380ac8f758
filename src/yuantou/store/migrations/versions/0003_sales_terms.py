"""Catalog items carry a grade and pooled-buying sales terms (bulk unit, MOQ, tiers, delivery).

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("catalog_items", sa.Column("grade", sa.String(64), nullable=False, server_default=""))
    op.add_column("catalog_items", sa.Column("sales_terms", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_items") as batch:
        batch.drop_column("sales_terms")
        batch.drop_column("grade")
