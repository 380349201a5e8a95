"""Each service's migrations build exactly the tables its code declares (no drift between the two), and keep the
data they change readable."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sys
import uuid
from typing import Any

import asyncpg
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_tools import devstack
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.mark.parametrize("service", devstack.DATABASE_OWNERS)
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


async def test_two_migrations_at_once_leave_each_schema_at_its_newest(postgres: str) -> None:
    """Migrations run once per release (a Job), but a retried Job may run beside its first try, or two releases at
    once: the second waits for the first (an advisory lock per schema) and finds nothing left to do."""
    name = f"migrate_{uuid.uuid4().hex[:12]}"
    await devstack.provision(postgres, name)
    try:
        for service in devstack.DATABASE_OWNERS:
            url, folder = devstack.database_url(postgres, service, name), devstack.migrations_dir(service)
            # Two processes, as two Jobs are (alembic keeps its context in module globals: one migration a process).
            migrate = f"from gjeld_shared import db; db.upgrade({url!r}, {str(folder)!r})"
            jobs = [await asyncio.create_subprocess_exec(sys.executable, "-c", migrate) for _ in range(2)]
            assert [await job.wait() for job in jobs] == [0, 0]
            config = Config()
            config.set_main_option("script_location", str(folder))
            newest = ScriptDirectory.from_config(config).get_heads()
            admin = await asyncpg.connect(host=postgres, user="postgres", database=name)
            try:
                assert [r[0] for r in await admin.fetch(f"SELECT version_num FROM {service}.alembic_version")] == newest
            finally:
                await admin.close()
    finally:
        admin = await asyncpg.connect(host=postgres, user="postgres", database="postgres")
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_0003_puts_key_version_1_in_front_of_the_hashes_stored_before(postgres: str, database: str) -> None:
    """A blind index stored before key versions is still found with the same key, as version 1."""
    config = Config()
    config.set_main_option("script_location", str(devstack.migrations_dir("consent")))
    config.attributes["database_url"] = devstack.database_url(postgres, "consent", database)
    keys = SubjectKeys.generate()
    unversioned = hmac.new(keys.index_keys[1], b"14842249091", hashlib.sha256).digest()

    async def stored() -> list[bytes]:
        connection = await asyncpg.connect(host=postgres, user="postgres", database=database)
        try:
            return [r[0] for r in await connection.fetch("SELECT subject_index FROM consent.credit_blocks")]
        finally:
            await connection.close()

    await asyncio.to_thread(command.downgrade, config, "0002")
    connection = await asyncpg.connect(host=postgres, user="postgres", database=database)
    try:
        await connection.execute("INSERT INTO consent.credit_blocks VALUES ($1, now())", unversioned)
    finally:
        await connection.close()
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await stored() == [keys.blind_index("14842249091")]
    await asyncio.to_thread(command.downgrade, config, "0002")
    assert await stored() == [unversioned]
    await asyncio.to_thread(command.upgrade, config, "head")
