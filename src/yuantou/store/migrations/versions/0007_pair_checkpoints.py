"""Pair checkpoints: each party's signed word on everything between it and one counterparty up to a cut-off;
and each entry's message digest, so that a checkpoint is signed without reading bodies back.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries") as table:
        table.add_column(sa.Column("message_digest", sa.String(64), nullable=True))  # null: from before 0007
    op.create_table(
        "ledger_pair_checkpoints",
        sa.Column("signer", sa.String(400), primary_key=True),
        sa.Column("party_a", sa.String(255), primary_key=True),
        sa.Column("party_b", sa.String(255), primary_key=True),
        sa.Column("until", sa.BigInteger, nullable=False),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("messages", sa.String(64), nullable=False),
        sa.Column("height", sa.BigInteger, nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", sa.BigInteger, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_pair_checkpoints")
    with op.batch_alter_table("ledger_entries") as table:
        table.drop_column("message_digest")
