"""Alembic's entry for consent's migrations: the `consent` schema only."""

from gjeld_consent.adapters import SCHEMA, metadata
from gjeld_shared.db import run_migrations_online

run_migrations_online(metadata, SCHEMA)
