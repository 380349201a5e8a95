"""A consent counts its uses, so that using or showing it never loads them all; its latest uses are read by time.

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
    op.add_column("consents", sa.Column("use_count", sa.Integer, nullable=False, server_default="0"), schema="consent")
    op.execute(
        "UPDATE consent.consents c SET use_count = u.n"
        " FROM (SELECT consent_id, count(*) AS n FROM consent.consent_uses GROUP BY consent_id) u"
        " WHERE u.consent_id = c.id"
    )
    op.create_index(
        "consent_uses_by_consent_time", "consent_uses", ["consent_id", "use_time", "disclosure_id"], schema="consent"
    )
    op.drop_index("consent_uses_by_consent", "consent_uses", schema="consent")


def downgrade() -> None:
    op.create_index("consent_uses_by_consent", "consent_uses", ["consent_id"], schema="consent")
    op.drop_index("consent_uses_by_consent_time", "consent_uses", schema="consent")
    op.drop_column("consents", "use_count", schema="consent")
