"""Wires ingest together: settings in, a runnable service out."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from gjeld.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc
from gjeld_shared import db, telemetry
from gjeld_shared.callers import TokenVerifier
from gjeld_shared.institutions import InstitutionDirectory
from gjeld_shared.server import Registration, ServiceRuntime
from gjeld_shared.settings import load_subject_keys
from opentelemetry.sdk.trace import SpanProcessor

from .entrypoints import IngestServicer
from .service_layer import Ingest
from .settings import IngestSettings

NAME = "ingest"
MIGRATIONS = Path(__file__).parent / "migrations"
FULL_NAME = ingest_service_pb2.DESCRIPTOR.services_by_name["IngestService"].full_name


def build(settings: IngestSettings, span_processors: Sequence[SpanProcessor] = ()) -> ServiceRuntime:
    provider = telemetry.tracer_provider(f"gjeld-{NAME}", settings.trace_file, span_processors)
    engine = db.create_engine(settings.database_url, pool_size=settings.database_pool_size,
                              application_name=f"gjeld-{NAME}", tracer_provider=provider)
    servicer = IngestServicer(Ingest(engine, load_subject_keys(settings.subject_keys_file)),
                              InstitutionDirectory.load(settings.institutions_file))
    return ServiceRuntime(
        name=NAME,
        listen_address=settings.listen_address,
        verifier=TokenVerifier(settings.token_public_key_file.read_bytes(), settings.token_issuer,
                               settings.token_audience),
        tracer_provider=provider,
        registrations=[Registration(FULL_NAME,
                                    lambda server: ingest_service_pb2_grpc.add_IngestServiceServicer_to_server(
                                        servicer, server))],
        on_close=[engine.dispose],
        grace_seconds=settings.shutdown_grace_seconds,
    )
