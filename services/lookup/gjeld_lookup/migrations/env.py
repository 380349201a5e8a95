"""Alembic's entry for lookup's migrations: the `lookup` schema only."""

from gjeld_lookup.adapters import SCHEMA, metadata
from gjeld_shared.db import run_migrations_online

run_migrations_online(metadata, SCHEMA)
