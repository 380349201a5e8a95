"""Lookups a lender may retry safely (AIP-155): its request id and a keyed digest of what it asked.

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
    op.add_column("disclosures", sa.Column("request_id", sa.String(64)), schema="lookup")
    op.add_column("disclosures", sa.Column("request_digest", sa.LargeBinary), schema="lookup")
    op.create_index(
        "disclosures_by_request",
        "disclosures",
        ["recipient", "request_id"],
        unique=True,
        schema="lookup",
        postgresql_where=sa.text("request_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("disclosures_by_request", "disclosures", schema="lookup")
    op.drop_column("disclosures", "request_digest", schema="lookup")
    op.drop_column("disclosures", "request_id", schema="lookup")
