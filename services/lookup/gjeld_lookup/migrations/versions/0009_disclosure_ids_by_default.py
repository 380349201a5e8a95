"""Disclosure ids made by the database where the writer leaves them out (a score-model package's million rows,
copied in without a Python UUID each).

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


def downgrade() -> None:
    op.alter_column("disclosures", "id", server_default=None, schema="lookup")
