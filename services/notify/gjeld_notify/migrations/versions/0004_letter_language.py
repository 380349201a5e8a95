"""A person's letters come in their chosen language: Norwegian bokmål unless they chose English.

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
    op.add_column(
        "contact_preferences",
        sa.Column("language", sa.String(8), nullable=False, server_default="nb"),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_column("contact_preferences", "language", schema="notify")
