"""A delivery is staged in one shared table, `ingest.staged_records`, instead of a temporary table of its own: the
form a distributed register needs (docs/production-layout.md). On Citus it is distributed by the debtor's blind index
and co-located with the register, so a delivery's merge is a join inside each shard; Citus refuses a temporary (or any
plain PostgreSQL) table as a MERGE's source.

A delivery sees only its own rows, by MVCC alone: it copies them in its transaction and deletes them before it
commits (gjeld_ingest.staging), so no other transaction ever sees them. There is no key (a unique index would make
concurrent deliveries wait on each other's uncommitted positions) and no index (each statement reads the delivery's
rows whole). UNLOGGED: its rows never outlive their transaction, so they need no WAL, and a crash (which empties an
unlogged table) loses nothing committed. Its dead rows are vacuumed after each large delivery by ingest itself, and by
autovacuum as soon as a few thousand gather.

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
    op.create_table(
        "staged_records",
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("closing", sa.Boolean, nullable=False),
        sa.Column("account_id", sa.Text, nullable=False),
        sa.Column("debtor_index", sa.LargeBinary, nullable=False),
        sa.Column("debtor_encrypted", sa.LargeBinary),
        sa.Column("co_borrower_role", sa.Text),
        sa.Column("debt_type", sa.Text),
        sa.Column("original_balance", sa.BigInteger),
        sa.Column("balance", sa.BigInteger),
        sa.Column("remaining_term_months", sa.Integer),
        sa.Column("credit_limit", sa.BigInteger),
        sa.Column("interest_bearing_balance", sa.BigInteger),
        sa.Column("non_interest_bearing_balance", sa.BigInteger),
        sa.Column("nominal_interest_rate_bp", sa.Integer),
        sa.Column("effective_interest_rate_bp", sa.Integer),
        sa.Column("installment_charges", sa.BigInteger),
        sa.Column("installment_charge_period", sa.Text),
        sa.Column("extract_time", sa.DateTime(timezone=True)),
        schema="ingest",
        prefixes=["UNLOGGED"],
    )
    op.execute(
        "ALTER TABLE ingest.staged_records SET (autovacuum_vacuum_threshold = 5000, autovacuum_vacuum_scale_factor = 0)"
    )


def downgrade() -> None:
    op.drop_table("staged_records", schema="ingest")
