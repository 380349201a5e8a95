"""A daily snapshot confirms the debts it leaves unchanged without rewriting them (DOM-7, DOM-8): each institution's
latest snapshot (its extract time, and when it was applied) is kept once, and each debt row says when it was last
written. A debt written no later than its creditor's latest snapshot was applied, with data extracted no later than
that snapshot, was in it (or the snapshot would have deleted it): the snapshot confirmed it, as of its extract time.

Debts are stored with room on their pages (fillfactor) so that a changed balance is updated in place (a HOT update:
no index touched) rather than on a new page.

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
    op.create_table(
        "snapshot_confirmations",
        sa.Column("creditor", sa.String(16), primary_key=True),
        sa.Column("extract_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirm_time", sa.DateTime(timezone=True), nullable=False),
        schema="ingest",
    )
    # Rows held before this revision count as written now: no snapshot confirmed them yet.
    op.add_column(
        "debts",
        sa.Column("write_time", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        schema="ingest",
    )
    op.execute("ALTER TABLE ingest.debts SET (fillfactor = 80)")


def downgrade() -> None:
    op.execute("ALTER TABLE ingest.debts RESET (fillfactor)")
    op.drop_column("debts", "write_time", schema="ingest")
    op.drop_table("snapshot_confirmations", schema="ingest")
