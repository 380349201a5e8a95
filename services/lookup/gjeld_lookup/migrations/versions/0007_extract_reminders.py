"""Score-model extracts: when the recipient was reminded of the deletion deadline.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("extract_orders", sa.Column("remind_time", sa.DateTime(timezone=True)), schema="lookup")


def downgrade() -> None:
    op.drop_column("extract_orders", "remind_time", schema="lookup")
