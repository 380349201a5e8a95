"""Wires ingest together: settings in, a runnable service out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time, timedelta
from pathlib import Path

import httpx
from gjeld.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc
from gjeld_shared.bootstrap import Parts, Wiring, assemble, registration
from gjeld_shared.clients import CreditorChannels
from gjeld_shared.db import exclusive
from gjeld_shared.server import ServiceRuntime
from opentelemetry.sdk.trace import SpanProcessor

from .adapters import PROTECTED, CalledCreditors, IngestUnitOfWork, StatisticsStore, retention
from .corrections import Corrections
from .entrypoints import ACCESS, IngestServicer
from .extracts import ExtractReads, ExtractUnitOfWork
from .residences import PopulationRegisterResidences, Residences, SandboxResidences
from .service_layer import DebtStatistics, Ingest, SnapshotFetches
from .settings import IngestSettings
from .staging import DeliveryUnitOfWork

NAME = "ingest"
MIGRATIONS = Path(__file__).parent / "migrations"


def residences(settings: IngestSettings, http: httpx.AsyncClient) -> Residences | None:
    """Where debtors live: the population register where it is set; else the sandbox population in development, and
    nothing in production (no county table: the register is asked only once an operator has set it)."""
    if settings.population_register_url and settings.population_register_token_file:
        return PopulationRegisterResidences(
            http, settings.population_register_url, settings.population_register_token_file
        )
    return SandboxResidences() if settings.environment == "development" else None


def build(settings: IngestSettings, span_processors: Sequence[SpanProcessor] = ()) -> ServiceRuntime:
    def wire(parts: Parts) -> Wiring:
        http = httpx.AsyncClient(timeout=settings.population_register_timeout_seconds)
        creditors = CalledCreditors(CreditorChannels(parts.creditor_channel), settings.snapshot_fetch_timeout_seconds)
        ingest = Ingest(
            lambda: IngestUnitOfWork(parts.engine),
            lambda: DeliveryUnitOfWork(parts.engine, settings.delivery_statement_timeout_seconds),
            parts.keys,
            parts.tracer_provider.get_tracer(__name__),
            timedelta(days=settings.tombstone_days),
            settings.max_concurrent_deliveries,
        )
        counts = DebtStatistics(
            StatisticsStore(parts.engine, settings.delivery_statement_timeout_seconds),
            parts.keys,
            residences(settings, http),
            lambda name: exclusive(parts.engine, name),
            settings.statistics_k,
        )
        fetches = SnapshotFetches(
            ingest,
            parts.directory,
            creditors,
            lambda name: exclusive(parts.engine, name),
            settings.delivery_pause_seconds,
        )
        # A round's read waits on lookup between orders, each within the pause a delivery may take.
        reads = ExtractReads(lambda: ExtractUnitOfWork(parts.engine, settings.delivery_pause_seconds), parts.keys)
        corrections = Corrections(lambda: IngestUnitOfWork(parts.engine), parts.keys, parts.directory)
        servicer = IngestServicer(
            ingest,
            fetches,
            parts.directory,
            parts.pages,
            reads,
            corrections,
            counts,
            settings.delivery_pause_seconds,
            timedelta(hours=settings.snapshot_limit_hours),
        )
        # Empty: no daily round (operators fetch with FetchSnapshot alone).
        fetch_at = time.fromisoformat(settings.snapshot_fetch_time_utc) if settings.snapshot_fetch_time_utc else None
        count_at = time.fromisoformat(settings.statistics_time_utc) if settings.statistics_time_utc else None
        return Wiring(
            [
                registration(
                    ingest_service_pb2,
                    "IngestService",
                    ingest_service_pb2_grpc.add_IngestServiceServicer_to_server,
                    servicer,
                    ACCESS,
                )
            ],
            protected=PROTECTED,
            kept=retention(
                timedelta(days=settings.delivery_retention_days),
                timedelta(days=settings.rejection_retention_days),
                timedelta(days=settings.correction_retention_days),
            ),
            background=[
                lambda stopping: corrections.run_housekeeping(
                    stopping, settings.correction_housekeeping_interval_seconds
                ),
                *(
                    [lambda stopping: fetches.run_daily(stopping, fetch_at, settings.snapshot_fetch_interval_seconds)]
                    if fetch_at
                    else []
                ),
                *([lambda stopping: counts.run_daily(stopping, count_at)] if count_at else []),
            ],
            on_close=[creditors.close, http.aclose],
        )

    return assemble(NAME, settings, wire, span_processors)
