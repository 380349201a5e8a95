"""Alembic's entry for ingest's migrations: the `ingest` schema only."""

from gjeld_ingest.adapters import SCHEMA, metadata
from gjeld_shared.db import run_migrations_online

run_migrations_online(metadata, SCHEMA)
