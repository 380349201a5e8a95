"""Consents and their uses.

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
        "consents",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("subject_index", sa.LargeBinary, nullable=False),
        sa.Column("institution", sa.String(16), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expire_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_uses", sa.Integer),
        sa.Column("withdraw_time", sa.DateTime(timezone=True)),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("request_digest", sa.LargeBinary, nullable=False),
        schema="consent",
    )
    op.create_index("consents_by_request", "consents", ["subject_index", "request_id"], unique=True, schema="consent")
    op.create_index("consents_by_subject", "consents", ["subject_index", "institution", "scope"], schema="consent")
    op.create_table(
        "consent_uses",
        sa.Column("disclosure_id", sa.String(64), primary_key=True),
        sa.Column("consent_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("consent.consents.id"), nullable=False),
        sa.Column("use_time", sa.DateTime(timezone=True), nullable=False),
        schema="consent",
    )
    op.create_index("consent_uses_by_consent", "consent_uses", ["consent_id"], schema="consent")


def downgrade() -> None:
    op.drop_table("consent_uses", schema="consent")
    op.drop_table("consents", schema="consent")
