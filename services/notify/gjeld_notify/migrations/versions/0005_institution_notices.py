"""Institutions' notice feeds (correction notices, DOM-14): positions without gaps per institution, content sealed.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "institution_feed_heads",
        sa.Column("institution", sa.String(16), primary_key=True),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        schema="notify",
    )
    op.create_table(
        "institution_notices",
        sa.Column("institution", sa.String(16), primary_key=True),
        sa.Column("position", sa.BigInteger, primary_key=True),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("institution", "source_id", name="institution_notices_by_source"),
        schema="notify",
    )
    op.create_index("notices_by_time", "notices", ["create_time"], schema="notify")  # retention


def downgrade() -> None:
    op.drop_index("notices_by_time", "notices", schema="notify")
    op.drop_table("institution_notices", schema="notify")
    op.drop_table("institution_feed_heads", schema="notify")
