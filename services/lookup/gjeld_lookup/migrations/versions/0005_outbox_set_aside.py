"""Copy letters that cannot be handed to notify are set aside after the most attempts, not retried forever.

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
    op.add_column("notice_outbox", sa.Column("failed_time", sa.DateTime(timezone=True)), schema="lookup")


def downgrade() -> None:
    op.drop_column("notice_outbox", "failed_time", schema="lookup")
