"""Debt statistics (issue 17): each day's published cells, kept over time. No personal data: cells of persons; a
suppressed cell keeps only that it is (its figures NULL).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "debt_statistics",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("table_name", sa.String(32), primary_key=True),
        sa.Column("cell", sa.String(64), primary_key=True),
        sa.Column("count_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("persons", sa.BigInteger),
        sa.Column("repayment_loans", sa.BigInteger),
        sa.Column("credit_facilities", sa.BigInteger),
        sa.Column("charge_cards", sa.BigInteger),
        sa.Column("balance", sa.BigInteger),
        sa.Column("credit_limit", sa.BigInteger),
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_table("debt_statistics", schema="ingest")
