"""ingest's settings (environment variables GJELD_*)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from gjeld_shared.settings import ServiceSettings
from pydantic import Field


class IngestSettings(ServiceSettings):
    listen_address: str = "127.0.0.1:50051"
    token_listen_address: str = "127.0.0.1:50151"
    health_listen_address: str = "127.0.0.1:50251"
    # When ingest fetches the daily snapshot of institutions that prefer to be called (the Norwegian registry's
    # datasets are ready at 05:00 UTC); empty for no daily round.
    snapshot_fetch_time_utc: str = "05:30"
    # How often, from then on, ingest looks for institutions whose snapshot of the day no replica has fetched yet.
    snapshot_fetch_interval_seconds: float = 60.0
    # The longest one institution's export may take, whoever asked for it.
    snapshot_fetch_timeout_seconds: float = 1800.0
    # The longest a streamed delivery may pause between two messages before it is given up (ABORTED
    # DELIVERY_STALLED); below the database's idle-in-transaction bound, which is the last line.
    delivery_pause_seconds: float = 30.0
    # A delivery's statements (the merge of a whole snapshot) may take this long, beyond the ordinary bound.
    delivery_statement_timeout_seconds: float = 1800.0
    # The most deliveries a replica takes in at once, each holding a database connection for as long as it streams;
    # one more is refused RESOURCE_EXHAUSTED DELIVERIES_BUSY (send it again shortly), so that slow or stalled
    # senders never hold the connections lookups read debts with. Below the database pool's size.
    max_concurrent_deliveries: int = 4
    # How often ingest looks for correction requests whose owner is due a reminder (a week before the deadline).
    correction_housekeeping_interval_seconds: float = 3600.0
    # A closed debt's tombstone lives this long: a report extracted before the close and arriving within it cannot
    # bring the debt back (DOM-7). Longer than any delivery can be late.
    tombstone_days: float = 7.0
    # An institution whose last full snapshot is older than this is listed to operators (ListStaleInstitutions):
    # its data goes unconfirmed (DOM-8). Lookup marks such data to lenders by its own, matching setting.
    snapshot_limit_hours: float = 36.0
    # Retention (the README's table): delivery receipts 13 months, rejected records 90 days, resolved correction
    # requests and their events 2 years.
    delivery_retention_days: float = 396.0
    rejection_retention_days: float = 90.0
    correction_retention_days: float = 730.0
    # The day's debt statistics are counted once after this time (UTC; after the daily snapshots are in); empty for
    # none. Every published cell counts at least `statistics_k` persons (issue 17).
    statistics_time_utc: str = "07:00"
    statistics_k: int = Field(default=10, ge=2)
    # Where debtors live, for the statistics by county: Folkeregisteret (the base URL of ingest's rights package) with
    # ingest's own Maskinporten token, kept fresh in a file by the platform. Unset in production (the default
    # environment): no county table, and nothing is asked of the register (the README's two questions come first).
    # In development, unset: the sandbox population stands in (every synthetic number a person living somewhere).
    environment: Literal["production", "development"] = "production"
    population_register_url: str = ""
    population_register_token_file: Path | None = None
    population_register_timeout_seconds: float = 30.0
