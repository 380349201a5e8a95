"""Ready for a distributed register (docs/production-layout.md): every key of a table that Citus would distribute by
the debtor's blind index holds that column, as Citus requires of a distributed table's primary key and unique
constraints (it enforces them shard by shard).

The debts, their tombstones and the debts handed over are keyed by (institution, account, debtor) already; a
correction request was keyed by its id alone, and is now keyed by (id, debtor_index): the id stays the primary key's
first column, so a request found by its id alone is still one index probe. Ids are random UUIDs, unique as before.

Revision ID: 0008
Revises: 0007
"""

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint("correction_requests_pkey", "correction_requests", type_="primary", schema="ingest")
    op.create_primary_key("correction_requests_pkey", "correction_requests", ["id", "debtor_index"], schema="ingest")


def downgrade() -> None:
    # Fails (and changes nothing) if two requests share an id, which random UUIDs do not.
    op.drop_constraint("correction_requests_pkey", "correction_requests", type_="primary", schema="ingest")
    op.create_primary_key("correction_requests_pkey", "correction_requests", ["id"], schema="ingest")
