"""Consents registered by institutions, consents they end, the institutions' event feeds, credit blocks.

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
        "consents", sa.Column("origin", sa.String(16), nullable=False, server_default="subject"), schema="consent"
    )
    op.add_column("consents", sa.Column("institution_consent_id", sa.String(64)), schema="consent")
    op.add_column("consents", sa.Column("end_time", sa.DateTime(timezone=True)), schema="consent")
    op.add_column(
        "consents", sa.Column("expiry_noted", sa.Boolean, nullable=False, server_default="false"), schema="consent"
    )
    op.create_index(
        "consents_by_institution_id",
        "consents",
        ["institution", "institution_consent_id"],
        unique=True,
        schema="consent",
        postgresql_where=sa.text("institution_consent_id IS NOT NULL"),
    )
    op.create_index(
        "consents_expiring", "consents", ["expire_time"], schema="consent", postgresql_where=sa.text("NOT expiry_noted")
    )
    op.add_column(
        "consent_uses",
        sa.Column("application_reference", sa.String(64), nullable=False, server_default=""),
        schema="consent",
    )
    op.create_table(
        "feed_heads",
        sa.Column("institution", sa.String(16), primary_key=True),
        sa.Column("last_position", sa.BigInteger, nullable=False),
        schema="consent",
    )
    op.create_table(
        "consent_events",
        sa.Column("institution", sa.String(16), nullable=False),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("event_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("disclosure_id", sa.String(64), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("institution", "position"),
        schema="consent",
    )
    op.create_index("consent_events_by_time", "consent_events", ["event_time"], schema="consent")
    op.create_table(
        "credit_blocks",
        sa.Column("subject_index", sa.LargeBinary, primary_key=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        schema="consent",
    )


def downgrade() -> None:
    op.drop_table("credit_blocks", schema="consent")
    op.drop_table("consent_events", schema="consent")
    op.drop_table("feed_heads", schema="consent")
    op.drop_column("consent_uses", "application_reference", schema="consent")
    op.drop_index("consents_expiring", table_name="consents", schema="consent")
    op.drop_index("consents_by_institution_id", table_name="consents", schema="consent")
    for column in ("expiry_noted", "end_time", "institution_consent_id", "origin"):
        op.drop_column("consents", column, schema="consent")
