"""Snapshots, partial acceptance and handovers: delivery kinds and results, rejected
records, and the debts handed over between institutions.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "deliveries", sa.Column("kind", sa.String(16), nullable=False, server_default="changes"), schema="ingest"
    )
    op.add_column(
        "deliveries",
        sa.Column("strictness", sa.String(16), nullable=False, server_default="all_or_nothing"),
        schema="ingest",
    )
    for name in ("record_count", "rejected_count", "absent_count"):
        op.add_column("deliveries", sa.Column(name, sa.BigInteger, nullable=False, server_default="0"), schema="ingest")
    op.add_column("deliveries", sa.Column("complete_time", sa.DateTime(timezone=True)), schema="ingest")
    op.create_index("deliveries_newest_first", "deliveries", ["creditor", "receive_time", "id"], schema="ingest")
    op.create_table(
        "rejections",
        sa.Column("delivery_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("record_index", sa.BigInteger, primary_key=True),
        sa.Column("violations", postgresql.JSONB, nullable=False),
        schema="ingest",
    )
    op.create_table(
        "handovers",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("giver", sa.String(16), nullable=False),
        sa.Column("receiver", sa.String(16), nullable=False),
        sa.Column("account_ids", postgresql.ARRAY(sa.String(64)), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("moved_count", sa.Integer, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("complete_time", sa.DateTime(timezone=True)),
        schema="ingest",
    )
    op.create_table(
        "handed_over",
        sa.Column("giver", sa.String(16), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("debtor_index", sa.LargeBinary, primary_key=True),
        sa.Column("handover_id", postgresql.UUID(as_uuid=True), nullable=False),
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_table("handed_over", schema="ingest")
    op.drop_table("handovers", schema="ingest")
    op.drop_table("rejections", schema="ingest")
    op.drop_index("deliveries_newest_first", "deliveries", schema="ingest")
    for name in ("complete_time", "absent_count", "rejected_count", "record_count", "strictness", "kind"):
        op.drop_column("deliveries", name, schema="ingest")
