"""Alembic's entry for notify's migrations: the `notify` schema only."""

from gjeld_notify.adapters import SCHEMA, metadata
from gjeld_shared.db import run_migrations_online

run_migrations_online(metadata, SCHEMA)
