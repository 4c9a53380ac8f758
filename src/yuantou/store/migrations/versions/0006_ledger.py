"""The ledger: hash-chained signed messages with their receipts, and the counterparties' checkpoints.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("height", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("sender", sa.String(255), nullable=False),
        sa.Column("receiver", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("authorization", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Column("receipt_key_id", sa.String(400), nullable=True),
        sa.Column("receipt_signature", sa.Text, nullable=True),
        sa.Column("receipt_signed_at", sa.BigInteger, nullable=True),
    )
    op.create_index("ix_ledger_transaction", "ledger_entries", ["transaction_id"])
    op.create_table(
        "ledger_checkpoints",
        sa.Column("signer", sa.String(400), primary_key=True),
        sa.Column("party_a", sa.String(255), primary_key=True),
        sa.Column("party_b", sa.String(255), primary_key=True),
        sa.Column("transaction_id", sa.String(64), primary_key=True),
        sa.Column("messages", sa.Text, nullable=False),
        sa.Column("signed_at", sa.BigInteger, nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("ledger_checkpoints")
    op.drop_index("ix_ledger_transaction", "ledger_entries")
    op.drop_table("ledger_entries")
