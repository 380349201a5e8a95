"""Bringing a service's stored identity numbers up to its current keys, after a key rotation.

Each service declares in its adapters which of its tables hold identity numbers (`Protected`):
the keyed hashes made with the index keys (blind indexes, request digests) and the ciphertexts
made with the encryption keys. `rekey` walks each table in primary-key order, 1,000 rows a
transaction, rewraps every keyed hash of an older index key version (`SubjectKeys.rewrap`, which
needs no identity number) and re-encrypts every ciphertext of an older encryption key. It only
touches rows still behind the current keys, so it may be stopped and run again at any time.

It runs with the service stopped (scaled to zero), as `python -m gjeld_<service> rekey` with the
service's own settings and role (the role owns its schema, so it may update every table in it).
A running service would keep writing and looking up values of the other version while the rows
move; online rotation without a write pause is out of scope.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, bindparam, false, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from . import db
from .db import beyond
from .identity_numbers import SubjectKeys

BATCH_SIZE = 1000


@dataclass(frozen=True)
class Protected:
    """A table that holds identity numbers, by its columns' names: `hashes` made with the index keys
    (blind indexes, digests of requests that held numbers), `ciphertexts` made with the encryption keys.
    Rows are found again by the table's primary key, which may include a hash column."""

    table: Table
    hashes: tuple[str, ...] = ()
    ciphertexts: tuple[str, ...] = ()


async def rekey(
    engine: AsyncEngine, keys: SubjectKeys, tables: Sequence[Protected], batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """Bring every table's hashes and ciphertexts up to the current keys; the number of rows rewritten per table."""
    return {spec.table.fullname: await _rekey_table(engine, keys, spec, batch_size) for spec in tables}


async def rekey_database(
    database_url: str, keys: SubjectKeys, tables: Sequence[Protected], batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """`rekey` over a database URL (the service's own, so its own role)."""
    engine = db.create_engine(database_url, pool_size=1, application_name="gjeld-rekey")
    try:
        return await rekey(engine, keys, tables, batch_size)
    finally:
        await engine.dispose()


async def refuse_other_index_keys(engine: AsyncEngine, keys: SubjectKeys, tables: Sequence[Protected]) -> None:
    """Refuse to serve while any stored hash is of another index key version than the key file's current one.

    A service started with a rotated key file before its rekey (or with the old file after it) would find none of
    the stored rows: a person's credit block would silently stop applying. Ciphertexts need no such guard: one of an
    unknown key id fails loudly when read."""
    stale = []
    async with engine.connect() as connection:
        for spec in tables:
            for name in spec.hashes:
                column = spec.table.c[name]
                behind = and_(column.is_not(None), func.get_byte(column, 0) != keys.current_index_key_id)
                if (await connection.execute(select(1).select_from(spec.table).where(behind).limit(1))).first():
                    stale.append(f"{spec.table.fullname}.{name}")
    if stale:
        raise RuntimeError(
            f"stored values of another index key than the current one ({keys.current_index_key_id}) in "
            f"{', '.join(stale)}: run `rekey` with the service stopped, or start it with the matching key file"
        )


async def _rekey_table(engine: AsyncEngine, keys: SubjectKeys, spec: Protected, batch_size: int) -> int:
    table = spec.table
    primary_key = list(table.primary_key.columns)
    # Each protected column with the function that brings a value up to date and the key id a current value has.
    columns: list[tuple[Any, Callable[[bytes], bytes], int]] = [
        *((table.c[name], keys.rewrap, keys.current_index_key_id) for name in spec.hashes),
        *((table.c[name], keys.reencrypt, keys.current_key_id) for name in spec.ciphertexts),
    ]
    # The first byte of every value is the version of the key that made it.
    behind: ColumnElement[bool] = or_(
        false(), *(and_(column.is_not(None), func.get_byte(column, 0) != current) for column, _, current in columns)
    )
    statement = (
        update(table)
        .where(*(column == bindparam(f"old_{column.name}") for column in primary_key))
        .values({column.name: bindparam(f"new_{column.name}") for column, _, _ in columns})
    )
    position: Sequence[Any] | None = None
    rewritten = 0
    while True:
        # One transaction a batch: the rows are locked only while they are rewritten, and a stop loses one batch.
        async with engine.begin() as connection:
            query = select(*primary_key, *(c for c, _, _ in columns)).where(behind)
            if position is not None:
                query = query.where(beyond(primary_key, position, descending=False))
            rows = (await connection.execute(query.order_by(*primary_key).limit(batch_size).with_for_update())).all()
            if not rows:
                return rewritten
            changes = [
                {
                    **{f"old_{column.name}": row._mapping[column] for column in primary_key},
                    **{
                        f"new_{column.name}": None if row._mapping[column] is None else bring(row._mapping[column])
                        for column, bring, _ in columns
                    },
                }
                for row in rows
            ]
            await connection.execute(statement, changes)
            rewritten += len(rows)
            # Keyset on the old primary key: a row whose key changed may come round again, but no longer behind.
            position = tuple(rows[-1]._mapping[column] for column in primary_key)
