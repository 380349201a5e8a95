"""Alembic's entry for the portal's migrations: the `portal` schema only."""

from gjeld_portal.adapters import SCHEMA, metadata
from gjeld_shared.db import run_migrations_online

run_migrations_online(metadata, SCHEMA)
