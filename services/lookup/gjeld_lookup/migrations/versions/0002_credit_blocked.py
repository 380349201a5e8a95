"""Disclosures that a credit block stopped (DOM-12).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "disclosures",
        sa.Column("credit_blocked", sa.Boolean, nullable=False, server_default="false"),
        schema="lookup",
    )


def downgrade() -> None:
    op.drop_column("disclosures", "credit_blocked", schema="lookup")
