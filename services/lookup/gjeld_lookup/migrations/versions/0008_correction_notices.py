"""Corrections told (DOM-14): how far lookup has read ingest's outcome feed, and which disclosure's recipient was told
of which correction.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "correction_feed_positions",
        sa.Column("feed", sa.String(32), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        schema="lookup",
    )
    op.create_table(
        "correction_notices",
        sa.Column("correction_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("disclosure_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("recipient", sa.String(16), nullable=False),
        sa.Column("notify_time", sa.DateTime(timezone=True), nullable=False),
        schema="lookup",
    )


def downgrade() -> None:
    op.drop_table("correction_notices", schema="lookup")
    op.drop_table("correction_feed_positions", schema="lookup")
