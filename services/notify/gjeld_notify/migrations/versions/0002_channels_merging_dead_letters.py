"""Sources per notice (merged copy letters), the subject's contact preferences, what channels need.

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
    op.add_column("notices", sa.Column("subject_encrypted", sa.LargeBinary), schema="notify")
    op.add_column("notices", sa.Column("merge_key", sa.String(160)), schema="notify")
    op.create_index(
        "notices_mergeable",
        "notices",
        ["subject_index", "merge_key"],
        schema="notify",
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "notices_failed", "notices", ["create_time"], schema="notify", postgresql_where=sa.text("state = 'failed'")
    )
    op.create_table(
        "notice_sources",
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("notice_id", postgresql.UUID(as_uuid=True), sa.ForeignKey("notify.notices.id"), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("add_time", sa.DateTime(timezone=True), nullable=False),
        schema="notify",
    )
    op.create_index("notice_sources_by_notice", "notice_sources", ["notice_id"], schema="notify")
    op.execute(
        "INSERT INTO notify.notice_sources (source_id, notice_id, content, add_time)"
        " SELECT source_id, id, content, create_time FROM notify.notices"
    )
    op.create_table(
        "contact_preferences",
        sa.Column("subject_index", sa.LargeBinary, primary_key=True),
        sa.Column("email_address", sa.String(254), nullable=False, server_default=""),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_table("contact_preferences", schema="notify")
    op.drop_table("notice_sources", schema="notify")
    op.drop_index("notices_failed", table_name="notices", schema="notify")
    op.drop_index("notices_mergeable", table_name="notices", schema="notify")
    op.drop_column("notices", "merge_key", schema="notify")
    op.drop_column("notices", "subject_encrypted", schema="notify")
