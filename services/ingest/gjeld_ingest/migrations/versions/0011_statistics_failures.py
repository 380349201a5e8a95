"""Debt statistics (issue 17): when a day's count last failed (the population register could not be read), so that
no replica asks the register about every debtor again for a while.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "statistics_failures",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("fail_time", sa.DateTime(timezone=True), nullable=False),
        schema="ingest",
    )


def downgrade() -> None:
    op.drop_table("statistics_failures", schema="ingest")
