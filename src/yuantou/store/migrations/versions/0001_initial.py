"""Initial schema: inbox, outbox, catalog, capacity, orders, subscribers.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("sender_id", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("authorization", sa.Text),
        sa.Column("gateway_authorization", sa.Text),
        sa.Column("reply_to", sa.Text),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("processed_at", sa.Float),
        sa.UniqueConstraint("sender_id", "action", "message_id", name="uq_inbox_sender_action_message"),
    )
    op.create_index("ix_inbox_unprocessed", "inbox", ["processed_at", "id"])
    op.create_index("ix_inbox_transaction", "inbox", ["transaction_id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("target_url", sa.Text, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("counterparty_id", sa.String(255)),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expects_callback_until", sa.Float),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delivered_at", sa.Float),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_outbox_due", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_message", "outbox", ["message_id"])
    op.create_table(
        "catalog_items",
        sa.Column("item_id", sa.String(128), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("category", sa.String(128), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
    )
    op.create_table(
        "capacity_windows",
        sa.Column("item_id", sa.String(128), primary_key=True),
        sa.Column("window_id", sa.String(128), primary_key=True),
        sa.Column("start", sa.String(40), nullable=False),
        sa.Column("end", sa.String(40), nullable=False),
        sa.Column("available", sa.Float, nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(128), primary_key=True),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("transaction_id", sa.String(64), nullable=False),
        sa.Column("counterparty_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_orders_transaction", "orders", ["transaction_id"])
    op.create_table(
        "subscribers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("subscriber_id", sa.String(255), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("domain", sa.String(128), nullable=False),
        sa.Column("city", sa.String(64), nullable=False),
        sa.Column("country", sa.String(8), nullable=False),
        sa.Column("signing_public_key", sa.Text, nullable=False),
        sa.Column("encr_public_key", sa.Text),
        sa.Column("valid_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("subscriber_id", "type", "domain", "key_id", name="uq_subscriber_entry"),
    )
    op.create_index("ix_subscribers_lookup", "subscribers", ["type", "domain", "city"])


def downgrade() -> None:
    for index, table in [
        ("ix_subscribers_lookup", "subscribers"), ("ix_orders_transaction", "orders"),
        ("ix_outbox_message", "outbox"), ("ix_outbox_due", "outbox"),
        ("ix_inbox_transaction", "inbox"), ("ix_inbox_unprocessed", "inbox"),
    ]:
        op.drop_index(index, table)
    for table in ["subscribers", "orders", "capacity_windows", "catalog_items", "outbox", "inbox"]:
        op.drop_table(table)
