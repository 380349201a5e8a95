"""Score-model extracts (DOM-11): institutions' orders with their lists (encrypted), and the packages cut in rounds.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "extract_orders",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("institution", sa.String(16), nullable=False),
        sa.Column("quarter", sa.String(7), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sa.Column("submit_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("listed_count", sa.BigInteger, nullable=False),
        sa.Column("invalid_count", sa.BigInteger, nullable=False),
        sa.Column("duplicate_count", sa.BigInteger, nullable=False),
        sa.Column("customer_count", sa.BigInteger),
        sa.Column("not_customer_count", sa.BigInteger),
        sa.Column("failure", sa.Text, nullable=False, server_default=""),
        sa.Column("round_id", UUID(as_uuid=True)),
        sa.Column("package_id", UUID(as_uuid=True)),
        sa.Column("snapshot_time", sa.DateTime(timezone=True)),
        sa.Column("record_count", sa.BigInteger),
        sa.Column("sha256", sa.LargeBinary),
        sa.Column("size", sa.BigInteger),
        sa.Column("delete_deadline", sa.DateTime(timezone=True)),
        sa.Column("delete_time", sa.DateTime(timezone=True)),
        sa.Column("deletion_confirmed", sa.Boolean, nullable=False, server_default="false"),
        schema="lookup",
    )
    # One order waiting per institution; a retried hand-in finds its order by request id.
    op.create_index(
        "extract_orders_waiting",
        "extract_orders",
        ["institution"],
        unique=True,
        schema="lookup",
        postgresql_where=sa.text("state IN ('ordered', 'cutting')"),
    )
    op.create_index(
        "extract_orders_by_request",
        "extract_orders",
        ["institution", "request_id"],
        unique=True,
        schema="lookup",
        postgresql_where=sa.text("request_id IS NOT NULL"),
    )
    op.create_table(
        "extract_order_parts",
        sa.Column("order_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("part", sa.Integer, primary_key=True),
        sa.Column("numbers_encrypted", sa.LargeBinary, nullable=False),
        schema="lookup",
    )
    op.create_table(
        "extract_package_chunks",
        sa.Column("order_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("data", sa.LargeBinary, nullable=False),
        schema="lookup",
    )


def downgrade() -> None:
    op.drop_table("extract_package_chunks", schema="lookup")
    op.drop_table("extract_order_parts", schema="lookup")
    op.drop_table("extract_orders", schema="lookup")
