"""Alembic's entry for lookup's migrations: the `lookup` schema only."""

from gjeld_shared.db import run_migrations_online

from gjeld_lookup.adapters import SCHEMA, metadata

run_migrations_online(metadata, SCHEMA)
