"""The debt register and delivery receipts.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "debts",
        sa.Column("creditor", sa.String(16), primary_key=True),
        sa.Column("account_id", sa.String(64), primary_key=True),
        sa.Column("debtor_index", sa.LargeBinary, primary_key=True),
        sa.Column("debtor_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("debt_type", sa.String(16), nullable=False),
        sa.Column("co_borrower_role", sa.String(16), nullable=False),
        sa.Column("original_balance", sa.BigInteger),
        sa.Column("balance", sa.BigInteger),
        sa.Column("remaining_term_months", sa.Integer),
        sa.Column("credit_limit", sa.BigInteger),
        sa.Column("interest_bearing_balance", sa.BigInteger),
        sa.Column("non_interest_bearing_balance", sa.BigInteger),
        sa.Column("nominal_interest_rate_bp", sa.Integer),
        sa.Column("effective_interest_rate_bp", sa.Integer),
        sa.Column("installment_charges", sa.BigInteger),
        sa.Column("installment_charge_period", sa.String(16)),
        sa.Column("extract_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirm_time", sa.DateTime(timezone=True), nullable=False),
        schema="ingest",
    )
    op.create_index("debts_by_debtor", "debts", ["debtor_index"], schema="ingest")
    op.create_table(
        "deliveries",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("creditor", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("content_digest", sa.LargeBinary, nullable=False),
        sa.Column("registered_count", sa.Integer, nullable=False),
        sa.Column("closed_count", sa.Integer, nullable=False),
        sa.Column("unknown_close_count", sa.Integer, nullable=False),
        sa.Column("receive_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="ingest",
    )
    op.create_index("deliveries_by_request", "deliveries", ["creditor", "request_id"], unique=True, schema="ingest")


def downgrade() -> None:
    op.drop_table("deliveries", schema="ingest")
    op.drop_table("debts", schema="ingest")
