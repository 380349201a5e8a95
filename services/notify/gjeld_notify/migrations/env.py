"""Alembic's entry for notify's migrations: the `notify` schema only."""

from gjeld_shared.db import run_migrations_online

from gjeld_notify.adapters import SCHEMA, metadata

run_migrations_online(metadata, SCHEMA)
