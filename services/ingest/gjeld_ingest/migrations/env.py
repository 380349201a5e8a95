"""Alembic's entry for ingest's migrations: the `ingest` schema only."""

from gjeld_shared.db import run_migrations_online

from gjeld_ingest.adapters import SCHEMA, metadata

run_migrations_online(metadata, SCHEMA)
