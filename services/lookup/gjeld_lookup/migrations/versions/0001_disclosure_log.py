"""The disclosure log and the outbox of copy letters.

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
        "disclosures",
        sa.Column("id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("subject_index", sa.LargeBinary, nullable=False),
        sa.Column("recipient", sa.String(16)),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("consent_id", sa.String(64)),
        sa.Column("application_reference", sa.String(64), nullable=False, server_default=""),
        sa.Column("debt_count", sa.Integer, nullable=False),
        sa.Column("disclosed", sa.LargeBinary, nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("disclose_time", sa.DateTime(timezone=True), nullable=False),
        schema="lookup",
    )
    op.create_index("disclosures_by_subject", "disclosures", ["subject_index", "disclose_time"], schema="lookup")
    op.create_table(
        "notice_outbox",
        sa.Column("disclosure_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("subject_encrypted", sa.LargeBinary, nullable=False),
        sa.Column("copy_letter", sa.LargeBinary, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("relay_time", sa.DateTime(timezone=True)),
        schema="lookup",
    )
    op.create_index(
        "notice_outbox_pending",
        "notice_outbox",
        ["next_attempt_time"],
        schema="lookup",
        postgresql_where=sa.text("relay_time IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("notice_outbox", schema="lookup")
    op.drop_table("disclosures", schema="lookup")
