"""Each service's migrations build exactly the tables its code declares (no drift between the two)."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from gjeld_tools import devstack
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.mark.parametrize("service", devstack.SERVICES)
async def test_migrations_match_the_declared_tables(postgres: str, database: str, service: str) -> None:
    adapters = __import__(f"gjeld_{service}.adapters", fromlist=["metadata"])

    def differences(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "include_name": lambda name, kind, _: kind != "schema" or name == adapters.SCHEMA,
                "version_table_schema": adapters.SCHEMA,
            },
        )
        return list(compare_metadata(context, adapters.metadata))

    engine = create_async_engine(devstack.database_url(postgres, service, database))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
