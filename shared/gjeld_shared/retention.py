"""Nothing kept longer than allowed (DOM-7, §10, GDPR art. 5(1)(e)): each service declares, beside its tables, what
it keeps and for how long (`Kept`), and one housekeeping loop deletes, or erases, what has expired.

A rule names a table, when a row expires (a condition on a time column, given the cut-off), and what happens then:
the row is deleted, or (for a record that must stay while its content must go) some columns are set to what erases
them. Each rule works in batches of `BATCH` rows, one short transaction a batch, so that no housekeeping holds locks
or a transaction for long however much has expired. The README's table of what is kept says the same in words.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from .server import periodically
from .timestamps import now

log = logging.getLogger(__name__)

BATCH = 5_000


@dataclass(frozen=True)
class Kept:
    """One thing a service keeps: `what` (in the README's words), for `keep`, expiring per `expired(cut_off)`; at
    expiry the row is deleted, or its `erase` columns set (the row itself kept)."""

    what: str
    table: Table
    keep: timedelta
    expired: Callable[[datetime], ColumnElement[bool]]
    erase: Mapping[str, Any] = field(default_factory=dict)


async def prune(engine: AsyncEngine, rules: Sequence[Kept], moment: datetime | None = None) -> dict[str, int]:
    """Apply every rule once, to all that has expired by `moment` (now): rows deleted or erased, by rule."""
    moment = moment or now()
    done: dict[str, int] = {}
    for rule in rules:
        key = tuple_(*rule.table.primary_key.columns)
        chosen = select(*rule.table.primary_key.columns).where(rule.expired(moment - rule.keep)).limit(BATCH)
        statement: Any = (
            update(rule.table).where(key.in_(chosen)).values(**rule.erase)
            if rule.erase
            else delete(rule.table).where(key.in_(chosen))
        )
        total = 0
        while True:
            async with engine.begin() as connection:
                count = (await connection.execute(statement)).rowcount or 0
            total += count
            if count < BATCH:
                break
        done[rule.what] = total
    return done


async def run(engine: AsyncEngine, rules: Sequence[Kept], stopping: asyncio.Event, interval: float) -> None:
    """The housekeeping loop: prune every `interval` seconds until the service stops."""

    async def round() -> None:
        for what, count in (await prune(engine, rules)).items():
            if count:
                log.info("retention: %d expired (%s)", count, what)

    await periodically(stopping, interval, round, "retention")
