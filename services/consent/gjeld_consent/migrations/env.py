"""Alembic's entry for consent's migrations: the `consent` schema only."""

from gjeld_shared.db import run_migrations_online

from gjeld_consent.adapters import SCHEMA, metadata

run_migrations_online(metadata, SCHEMA)
