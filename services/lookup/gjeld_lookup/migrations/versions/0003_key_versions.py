"""Blind indexes and request digests carry the version of the index key that made them, so that
the key can rotate (the subjects of disclosures).

Every stored value was made with the one index key there was, which becomes version 1: the
32-byte HMAC gets the version byte 0x01 in front.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KEYED_HASHES = (("disclosures", "subject_index"),)


def upgrade() -> None:
    for table, column in KEYED_HASHES:
        # Only unversioned (32-byte) values: running this again changes nothing.
        op.execute(f"UPDATE lookup.{table} SET {column} = decode('01', 'hex') || {column} WHERE length({column}) = 32")


def downgrade() -> None:
    # Back to unversioned values only from version 1: a later version is a chain the code before it cannot compute.
    for table, column in KEYED_HASHES:
        later = f"SELECT count(*) FROM lookup.{table} WHERE get_byte({column}, 0) <> 1"
        if op.get_bind().scalar(sa.text(later)):
            raise RuntimeError(f"lookup.{table}.{column} holds values of a later index key: they cannot go back")
    for table, column in KEYED_HASHES:
        op.execute(f"UPDATE lookup.{table} SET {column} = substring({column} FROM 2) WHERE length({column}) = 33")
