"""Browser sessions, shared by every replica of the portal.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.LargeBinary, primary_key=True),
        sa.Column("began", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("logged_in", sa.Boolean, nullable=False),
        sa.Column("person_sealed", sa.LargeBinary),
        sa.Column("tokens_sealed", sa.LargeBinary),
        sa.Column("state_sealed", sa.LargeBinary, nullable=False),
        schema="portal",
    )
    op.create_index("sessions_by_kind_and_use", "sessions", ["logged_in", "seen"], schema="portal")
    op.create_index("sessions_by_start", "sessions", ["began"], schema="portal")


def downgrade() -> None:
    op.drop_table("sessions", schema="portal")
