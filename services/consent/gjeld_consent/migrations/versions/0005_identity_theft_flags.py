"""A subject's identity-theft flag, beside the credit block: until its end every lender's lookup is warned and the
subject alerted of it at once. One per subject; an ended flag is forgotten (retention).

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
        "identity_theft_flags",
        sa.Column("subject_index", sa.LargeBinary, primary_key=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        schema="consent",
    )
    op.create_index("identity_theft_flags_by_end", "identity_theft_flags", ["end_time"], schema="consent")


def downgrade() -> None:
    op.drop_table("identity_theft_flags", schema="consent")
