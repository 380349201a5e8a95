"""Disclosure ids made by the database where the writer leaves them out (a score-model package's million rows,
copied in without a Python UUID each); when each disclosure read the register (who is told of a correction).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("disclosures", "id", server_default=sa.text("gen_random_uuid()"), schema="lookup")
    op.add_column("disclosures", sa.Column("read_time", sa.DateTime(timezone=True)), schema="lookup")


def downgrade() -> None:
    op.drop_column("disclosures", "read_time", schema="lookup")
    op.alter_column("disclosures", "id", server_default=None, schema="lookup")
