"""Correction requests (DOM-14): the requests, each institution's feed of them, and when each debt was first
registered (so that a correction is told only to those whose disclosures can have held the debt).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Debts registered before this revision keep NULL: when they were first registered is not known.
    op.add_column("debts", sa.Column("register_time", sa.DateTime(timezone=True)), schema="ingest")
    op.alter_column("debts", "register_time", server_default=sa.text("now()"), schema="ingest")
    op.create_table(
        "correction_requests",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("creditor", sa.String(16), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("debt_type", sa.String(16), nullable=False),
        sa.Column("debtor_index", sa.LargeBinary, nullable=False),
        sa.Column("debtor_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("reason_sealed", sa.LargeBinary, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(16), nullable=False),
        sa.Column("forwarded_by", sa.String(16)),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remind_time", sa.DateTime(timezone=True)),
        sa.Column("resolve_time", sa.DateTime(timezone=True)),
        sa.Column("answer_sealed", sa.LargeBinary),
        sa.Column("answer_time", sa.DateTime(timezone=True)),
        sa.Column("fix_time", sa.DateTime(timezone=True)),
        sa.Column("fix_delivery_id", UUID(as_uuid=True)),
        sa.Column("wrong_since", sa.DateTime(timezone=True)),
        sa.Column("debt_register_time", sa.DateTime(timezone=True)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("request_digest", sa.LargeBinary),
        schema="ingest",
    )
    op.create_index(
        "correction_requests_open",
        "correction_requests",
        ["creditor", "account_id", "debtor_index"],
        unique=True,
        schema="ingest",
        postgresql_where=sa.text("state IN ('open', 'awaiting_fix')"),
    )
    op.create_index(
        "correction_requests_by_debtor", "correction_requests", ["debtor_index", "create_time"], schema="ingest"
    )
    op.create_index(
        "correction_requests_due",
        "correction_requests",
        ["due_time", "id"],
        schema="ingest",
        postgresql_where=sa.text("state IN ('open', 'awaiting_fix')"),
    )
    op.create_index(
        "correction_requests_by_request",
        "correction_requests",
        ["debtor_index", "request_id"],
        unique=True,
        schema="ingest",
        postgresql_where=sa.text("request_id IS NOT NULL"),
    )
    op.create_table(
        "correction_feed_heads",
        sa.Column("feed", sa.String(16), primary_key=True),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        schema="ingest",
    )
    op.create_table(
        "correction_events",
        sa.Column("feed", sa.String(16), primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("correction_id", UUID(as_uuid=True), nullable=False),
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_table("correction_events", schema="ingest")
    op.drop_table("correction_feed_heads", schema="ingest")
    op.drop_table("correction_requests", schema="ingest")
    op.drop_column("debts", "register_time", schema="ingest")
