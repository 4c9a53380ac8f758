"""The outbox keeps the signature each message goes out with, made and stored before the first send: a message
sent again after a crash (its peer's answer never recorded) is the same request byte for byte, not the same
message signed anew.

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as table:
        table.add_column(sa.Column("authorization", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as table:
        table.drop_column("authorization")
