"""Handover proposals a giver may retry safely (AIP-155): its request id and a digest of what it proposed.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("handovers", sa.Column("request_id", sa.String(64)), schema="ingest")
    op.add_column("handovers", sa.Column("request_digest", sa.LargeBinary), schema="ingest")
    op.create_index(
        "handovers_by_request",
        "handovers",
        ["giver", "request_id"],
        unique=True,
        schema="ingest",
        postgresql_where=sa.text("request_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("handovers_by_request", "handovers", schema="ingest")
    op.drop_column("handovers", "request_digest", schema="ingest")
    op.drop_column("handovers", "request_id", schema="ingest")
