"""How ingest's tables spread over a Citus cluster when one PostgreSQL is not enough (docs/production-layout.md).

The debt register is the table that outgrows a server. On Citus it is distributed by the debtor's blind index, and
so is every table keyed per debt or per debtor that a hot statement joins with it: co-located, a person's rows of
each of them are on the same shard, so a lookup, a delivery's merge or a correction is a join within each shard.
Small tables read beside the register everywhere are reference tables (a copy on every node). The rest stay on the
coordinator: receipts, handovers and feeds, keyed per institution, never joined with the register on a hot path.

Nothing here runs on a single PostgreSQL: the same schema and statements serve both (tests/test_distributed_register.py
holds every hot statement to the distribution column); `citus_statements()` is what an operator runs once on the
coordinator, after the migrations, to distribute the tables.
"""

from __future__ import annotations

from sqlalchemy import Table

from .adapters import (
    correction_events,
    correction_feed_heads,
    correction_requests,
    debt_statistics,
    debts,
    deliveries,
    handed_over,
    handovers,
    rejections,
    snapshot_confirmations,
    staging_slots,
    statistics_failures,
    tombstones,
)

# The debtor's blind index (HMAC of the identity number, gjeld_shared.identity_numbers): evenly spread, and the key
# of the hottest read (a person's debts, DOM-5) and of every record a delivery merges.
DISTRIBUTION_COLUMN = "debtor_index"

# Distributed by the debtor, co-located with the register (the first is the one the others are co-located with):
# - debts: the register itself (7.1 M rows for Norway), one row per (institution, account, debtor);
# - correction_requests: a person's lookup reads each debt's dispute flag from it (DOM-14), a delivery's fix lands
#   on the debts it merged;
# - tombstones: each record a delivery registers is checked against them, each close and absent debt leaves one;
# - handed_over: each record of a delivery is checked against them (a debt handed over cannot come back);
# - the staging slots (staged_records_01 to _16): a delivery on its way in; its records are routed to their debtors'
#   shards as they are copied, and the merge (Citus refuses a MERGE from a table that is not distributed, temporary
#   ones included) is a join inside each shard. No key: a delivery's statements read its rows whole, on every shard.
DISTRIBUTED: tuple[Table, ...] = (debts, correction_requests, tombstones, handed_over, *staging_slots)

# A copy on every node: each institution's latest snapshot (about 200 rows), read beside every debt row (the times
# it confirmed), written once per snapshot.
REFERENCE: tuple[Table, ...] = (snapshot_confirmations,)

# On the coordinator only: per institution or per delivery, never joined with the register on a hot path. No foreign
# key may point from a distributed table to one of these (Citus refuses it; there are none).
# - deliveries, rejections: receipts, found by institution and request id;
# - handovers: proposals between two institutions;
# - correction_feed_heads, correction_events: each institution's gap-free feed (a head row locked per append).
# - debt_statistics: the published cells of each day's count (no personal data), a few hundred rows a day;
#   statistics_failures: when a day's count last failed.
LOCAL: tuple[Table, ...] = (
    deliveries,
    rejections,
    handovers,
    correction_feed_heads,
    correction_events,
    debt_statistics,
    statistics_failures,
)


def citus_statements() -> list[str]:
    """The SQL that distributes ingest's tables on a Citus coordinator (run once, as the schema's owner, after the
    migrations; existing rows are moved to the shards by Citus)."""
    first, *others = DISTRIBUTED
    statements = [f"SELECT create_distributed_table('{first.fullname}', '{DISTRIBUTION_COLUMN}')"]
    statements += [
        f"SELECT create_distributed_table('{table.fullname}', '{DISTRIBUTION_COLUMN}', colocate_with => "
        f"'{first.fullname}')"
        for table in others
    ]
    statements += [f"SELECT create_reference_table('{table.fullname}')" for table in REFERENCE]
    return statements
