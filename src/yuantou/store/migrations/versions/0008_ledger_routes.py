"""Indexes that keep a long ledger cheap to look at: who trades with whom (skipped along, for the keys a check
needs, the counterparties and the pairs' messages) and the one-sided entries (counted by the dashboard).

Revision ID: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ONE_SIDED = "receipt_key_id IS NULL"


def upgrade() -> None:
    op.create_index("ix_ledger_routes", "ledger_entries", ["sender", "receiver", "action"])
    op.create_index("ix_ledger_one_sided", "ledger_entries", ["height"], sqlite_where=sa.text(ONE_SIDED),
                    postgresql_where=sa.text(ONE_SIDED))


def downgrade() -> None:
    op.drop_index("ix_ledger_one_sided", "ledger_entries")
    op.drop_index("ix_ledger_routes", "ledger_entries")
