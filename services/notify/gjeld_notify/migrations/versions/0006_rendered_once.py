"""A notice's letter rendered once: kept (sealed) with the notice from its first delivery attempt, for every retry and
every time the person opens it.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notices", sa.Column("message_sealed", sa.LargeBinary), schema="notify")
    op.add_column("notices", sa.Column("message_language", sa.String(8)), schema="notify")


def downgrade() -> None:
    op.drop_column("notices", "message_language", schema="notify")
    op.drop_column("notices", "message_sealed", schema="notify")
