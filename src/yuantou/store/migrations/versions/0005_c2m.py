"""C2M on a producer node: imported demand history and stored twin, forecast runs and plans.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "demand_history",
        sa.Column("product", sa.String(128), primary_key=True),
        sa.Column("region", sa.String(255), primary_key=True),
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("quantity", sa.Float, nullable=False),
    )
    op.create_table(
        "c2m_runs",
        sa.Column("run_id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index("ix_c2m_runs_kind_created", "c2m_runs", ["kind", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_c2m_runs_kind_created", "c2m_runs")
    op.drop_table("c2m_runs")
    op.drop_table("demand_history")
