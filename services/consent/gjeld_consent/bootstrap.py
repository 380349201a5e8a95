"""Wires consent together: settings in, a runnable service out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from gjeld.consent.v1 import consent_service_pb2, consent_service_pb2_grpc
from gjeld_shared.bootstrap import Parts, Wiring, assemble, registration
from gjeld_shared.server import ServiceRuntime
from opentelemetry.sdk.trace import SpanProcessor

from .adapters import PROTECTED, ConsentUnitOfWork, retention
from .entrypoints import ACCESS, ConsentServicer
from .service_layer import Consents
from .settings import ConsentSettings

NAME = "consent"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: ConsentSettings, span_processors: Sequence[SpanProcessor] = ()) -> ServiceRuntime:
    def wire(parts: Parts) -> Wiring:
        consents = Consents(
            lambda: ConsentUnitOfWork(parts.engine), parts.keys, timedelta(days=settings.feed_retention_days)
        )
        return Wiring(
            [
                registration(
                    consent_service_pb2,
                    "ConsentService",
                    consent_service_pb2_grpc.add_ConsentServiceServicer_to_server,
                    ConsentServicer(consents, parts.pages),
                    ACCESS,
                )
            ],
            protected=PROTECTED,
            kept=retention(timedelta(days=settings.consent_retention_days)),
            background=[lambda stopping: consents.run_housekeeping(stopping, settings.housekeeping_interval_seconds)],
        )

    return assemble(NAME, settings, wire, span_processors)
