"""The disclosure log's tamper evidence: an append-only Merkle log of entries without personal data (audit.py).

UPDATE, DELETE and TRUNCATE of the log are refused by a trigger, whoever runs them; after the migrations the log passes
to an owner of its own, lookup's role keeping SELECT and INSERT only (devstack.harden).

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("record_id", UUID(as_uuid=True), nullable=False),
        sa.Column("entry", sa.LargeBinary, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
        sa.Column("append_time", sa.DateTime(timezone=True), nullable=False),
        schema="lookup",
    )
    op.create_index("audit_log_by_record", "audit_log", ["record_id"], schema="lookup")
    # For retention (what is old is found by its time).
    op.create_index("disclosures_by_time", "disclosures", ["disclose_time"], schema="lookup")
    op.create_index(
        "notice_outbox_relayed",
        "notice_outbox",
        ["relay_time"],
        schema="lookup",
        postgresql_where=sa.text("relay_time IS NOT NULL"),
    )
    op.execute(
        """
        CREATE FUNCTION lookup.audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the disclosure log only grows: % is refused', TG_OP;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON lookup.audit_log"
        " FOR EACH ROW EXECUTE FUNCTION lookup.audit_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON lookup.audit_log"
        " FOR EACH STATEMENT EXECUTE FUNCTION lookup.audit_log_append_only()"
    )


def downgrade() -> None:
    op.drop_index("notice_outbox_relayed", "notice_outbox", schema="lookup")
    op.drop_index("disclosures_by_time", "disclosures", schema="lookup")
    op.drop_table("audit_log", schema="lookup")
    op.execute("DROP FUNCTION lookup.audit_log_append_only()")
