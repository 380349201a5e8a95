"""Old data never wins (DOM-7, DOM-8): tombstones of closed debts, so that a late report extracted before the close
cannot bring a debt back; how many records of a delivery were older than what the registry held.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tombstones",
        sa.Column("creditor", sa.String(16), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("debtor_index", sa.LargeBinary, primary_key=True),
        sa.Column("close_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
        schema="ingest",
    )
    op.create_index("tombstones_expiring", "tombstones", ["creditor", "expire_time"], schema="ingest")
    op.add_column(
        "deliveries", sa.Column("outdated_count", sa.BigInteger, nullable=False, server_default="0"), schema="ingest"
    )
    op.add_column("deliveries", sa.Column("extract_time", sa.DateTime(timezone=True)), schema="ingest")


def downgrade() -> None:
    op.drop_column("deliveries", "extract_time", schema="ingest")
    op.drop_column("deliveries", "outdated_count", schema="ingest")
    op.drop_table("tombstones", schema="ingest")
