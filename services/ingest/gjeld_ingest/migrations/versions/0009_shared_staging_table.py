"""Deliveries are staged in real tables instead of a temporary table each: the form a distributed register needs
(docs/production-layout.md). On Citus they are distributed by the debtor's blind index and co-located with the
register, so a delivery's merge is a join inside each shard; Citus refuses a temporary (or any plain PostgreSQL) table
as a MERGE's source.

Sixteen slots, `ingest.staged_records_01` to `_16`, alike (gjeld_ingest.staging.STAGING_SLOTS): a delivery takes one
for its transaction alone (an advisory lock) and empties it before it commits (TRUNCATE, in its transaction), so no
other transaction ever sees its records; a delivery that fails leaves its rows dead in the slot, read through once by
the slot's next delivery and gone with that one's TRUNCATE. No key and no index (each statement reads the delivery's
rows whole). UNLOGGED: their rows never outlive their transaction, so they need no WAL, and a
crash (which empties an unlogged table) loses nothing committed. No autovacuum: TRUNCATE leaves nothing to vacuum, and
a delivery analyses its own rows.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

SLOTS = 16  # gjeld_ingest.staging.STAGING_SLOTS when this revision was written


def upgrade() -> None:
    for slot in range(1, SLOTS + 1):
        name = f"staged_records_{slot:02d}"
        op.create_table(
            name,
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
        op.execute(f"ALTER TABLE ingest.{name} SET (autovacuum_enabled = false)")


def downgrade() -> None:
    for slot in range(1, SLOTS + 1):
        op.drop_table(f"staged_records_{slot:02d}", schema="ingest")
