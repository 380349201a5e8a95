"""The database: one async SQLAlchemy engine per service, and Alembic migrations.

Each service owns one schema, reached with its own role; nothing here lets one
service name another's tables. Given a tracer provider (GJELD_TRACE_STATEMENTS), the
engine is instrumented with OpenTelemetry so that queries appear as spans in the
request's trace.

Every engine made here keeps identity numbers out of its errors (DOM-15): SQLAlchemy
leaves the parameters out of its exception texts and logs (`hide_parameters`), and
the driver's own text, which quotes values (asyncpg's "invalid input for query
argument", PostgreSQL's DETAIL "Key (…)=(…)"), is redacted before anything sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.config import Config
from opentelemetry import metrics
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy import ColumnElement, Connection, MetaData, Table, event, exc, literal, pool, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .redaction import redact_exception


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 10,
    pool_timeout: float = 5.0,
    application_name: str = "gjeld",
    tracer_provider: TracerProvider | None = None,
    statement_timeout: float = 300.0,
    idle_in_transaction_timeout: float = 60.0,
) -> AsyncEngine:
    """The service's engine. A pooled connection is checked before each use, so that connections a database restart
    broke are replaced instead of failing a request; every session bounds its statements and its idle transactions,
    so nothing holds locks for long on behalf of a client that went quiet."""
    settings = {
        "application_name": application_name,
        "statement_timeout": str(int(statement_timeout * 1000)),
        "idle_in_transaction_session_timeout": str(int(idle_in_transaction_timeout * 1000)),
    }
    engine = _redacting(
        create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=max_overflow,
            pool_timeout=pool_timeout,
            hide_parameters=True,
            connect_args={"server_settings": settings},
        )
    )
    event.listen(engine.sync_engine, "checkout", _closed_by_the_server)
    if tracer_provider is not None:
        # One tracer per engine (the instrumentor is a process-wide singleton that would trace only the
        # first engine, and with the first provider, when several services share a test process). Made after
        # _redacting: its error hook puts the error's text into the span's status, redacted by then.
        tracer = tracer_provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
        usage = metrics.get_meter(__name__).create_up_down_counter("db.client.connections.usage")
        EngineTracer(tracer, engine.sync_engine, usage)
    return engine


def _closed_by_the_server(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Replace a pooled connection the server has ended (a restart, an administrator's pg_terminate_backend): the
    driver learns of it as the server closes the socket, so asking costs no round trip, where `pool_pre_ping`'s
    query cost one on every checkout (a fifth of a short transaction's time)."""
    if dbapi_connection.driver_connection.is_closed():
        raise exc.DisconnectionError("the server closed this pooled connection")


def _redacting(engine: AsyncEngine) -> AsyncEngine:
    """The engine, with identity numbers masked in the text of every database error it raises."""

    # Registered first, so that it runs before any other listener (the tracer's) reads the error.
    @event.listens_for(engine.sync_engine, "handle_error")
    def redact_error(context: ExceptionContext) -> None:
        redact_exception(context.original_exception)
        if context.sqlalchemy_exception is not None:
            redact_exception(context.sqlalchemy_exception)

    return engine


def upgrade(database_url: str, migrations_dir: Path) -> None:
    """Run a service's migrations up to the newest (blocking; call outside an event loop)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.attributes["database_url"] = database_url
    command.upgrade(config, "head")


def run_migrations_online(metadata: MetaData, schema: str) -> None:
    """The body of every service's migrations/env.py: migrate its schema over asyncpg."""
    from alembic import context

    url = context.config.attributes["database_url"]

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=metadata, version_table_schema=schema)
        with context.begin_transaction():
            # One migrator at a time (a release's Job beside a retry of it, two releases at once): a second waits
            # for the first to commit, then reads the schema's version anew and finds nothing left to do.
            connection.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"gjeld:migrate:{schema}"}
            )
            context.run_migrations()

    async def main() -> None:
        engine = _redacting(create_async_engine(url, poolclass=pool.NullPool, hide_parameters=True))
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
        await engine.dispose()

    asyncio.run(main())


def beyond(columns: Sequence[ColumnElement[Any]], position: Sequence[Any], *, descending: bool) -> ColumnElement[bool]:
    """The keyset condition for the next page: rows strictly past `position` in the listing's order."""
    keys, values = tuple_(*columns), tuple_(*(literal(v) for v in position))
    return keys < values if descending else keys > values


async def next_position(connection: AsyncConnection, heads: Table, key: str) -> int:
    """The next position of a feed (a consent feed, a notice feed) whose head is a row of `heads`, keyed by its
    first column, with `last_position`. Taking it locks the head's row until the transaction ends, so positions are
    handed out in commit order and a rolled-back event leaves no gap: a reader that has seen position n misses
    nothing by asking for what follows n."""
    key_column = heads.primary_key.columns.values()[0]
    statement = insert(heads).values({key_column.name: key, "last_position": 1})
    statement = statement.on_conflict_do_update(
        index_elements=[key_column], set_={"last_position": heads.c.last_position + 1}
    )
    return int((await connection.execute(statement.returning(heads.c.last_position))).scalar_one())


@contextlib.asynccontextmanager
async def exclusive(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """Whether this process may do the work called `name` now (an extract round, relaying corrections, a bank's daily
    snapshot): one at a time, across replicas. A session-level advisory lock on a connection of its own (no
    transaction held open), released at the end, or by PostgreSQL when the process dies. (Session locks need a
    connection that stays the process's: a transaction-pooling PgBouncer in between would break them.)"""
    async with engine.connect() as connection:
        driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
        answered = released = False
        try:
            held = bool(await driver.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", name))
            answered = True
            yield held
        finally:
            try:
                if answered and held:
                    await driver.execute("SELECT pg_advisory_unlock(hashtext($1))", name)
                released = answered
            finally:
                if not released:
                    # Cancelled while taking or giving back the lock, it may still be held: the connection is
                    # closed rather than pooled (a pooled one would keep the lock from every other replica).
                    await connection.invalidate()
