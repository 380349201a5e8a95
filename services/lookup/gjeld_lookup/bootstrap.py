"""Wires lookup together: settings in, a runnable service out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from gjeld.lookup.v1 import lookup_service_pb2, lookup_service_pb2_grpc
from gjeld_shared.bootstrap import Parts, Wiring, assemble, registration
from gjeld_shared.clients import CreditorChannels
from gjeld_shared.db import exclusive
from gjeld_shared.interceptors import Door
from gjeld_shared.server import ServiceRuntime
from opentelemetry.sdk.trace import SpanProcessor

from .adapters import PROTECTED, DisclosureUnitOfWork, LiveCreditors, Registry, retention
from .domain import Staleness
from .entrypoints import ACCESS, LookupServicer
from .extracts import ManifestSigner
from .service_layer import Admission, AuditCheckpoints, CorrectionNotices, Extracts, Lookups, overloaded
from .settings import LookupSettings

LOOK_UP_DEBT = "/gjeld.lookup.v1.LookupService/LookUpDebt"

NAME = "lookup"
MIGRATIONS = Path(__file__).parent / "migrations"


def build(settings: LookupSettings, span_processors: Sequence[SpanProcessor] = ()) -> ServiceRuntime:
    def wire(parts: Parts) -> Wiring:
        registry = Registry(
            parts.channel(settings.consent_address),
            parts.channel(settings.ingest_address),
            parts.channel(settings.notify_address),
        )
        live = LiveCreditors(CreditorChannels(parts.creditor_channel))
        lookups = Lookups(
            lambda: DisclosureUnitOfWork(parts.engine),
            parts.keys,
            registry,
            live,
            parts.directory,
            settings.call_timeout_seconds,
            parts.tracer_provider.get_tracer(__name__),
            settings.max_relay_attempts,
            Staleness(
                timedelta(hours=settings.stale_after_hours),
                timedelta(hours=settings.withhold_stale_after_hours) if settings.withhold_stale_after_hours else None,
            ),
        )
        signer = ManifestSigner(settings.extract_signing_key_file.read_bytes())
        checkpoints = AuditCheckpoints(
            lambda: DisclosureUnitOfWork(parts.engine),
            parts.keys,
            signer,
            settings.audit_checkpoint_file,
            lambda: exclusive(parts.engine, "gjeld:audit-checkpoint"),
        )
        extracts = Extracts(
            lambda: DisclosureUnitOfWork(parts.engine),
            parts.keys,
            registry,
            signer,
            settings.registry_organization_number,
            parts.directory,
            lambda: exclusive(parts.engine, "gjeld:extract-round"),
            timedelta(days=settings.extract_remind_days),
            call_timeout=settings.call_timeout_seconds,
        )
        corrections = CorrectionNotices(
            lambda: DisclosureUnitOfWork(parts.engine),
            parts.keys,
            registry,
            parts.directory,
            lambda: exclusive(parts.engine, "gjeld:correction-relay"),
            settings.call_timeout_seconds,
        )
        admission = Admission(settings.max_concurrent_lookups, settings.admission_wait_seconds)
        return Wiring(
            [
                registration(
                    lookup_service_pb2,
                    "LookupService",
                    lookup_service_pb2_grpc.add_LookupServiceServicer_to_server,
                    LookupServicer(
                        lookups,
                        parts.directory,
                        settings.default_max_wait_seconds,
                        parts.pages,
                        extracts,
                        checkpoints,
                        admission,
                    ),
                    ACCESS,
                )
            ],
            protected=PROTECTED,
            # At the door: lookups beyond those admitted and a few waiting are refused before anything else runs
            # for them (their span, their token, a wait): under 3× the peak, refusing through all of that took
            # lookup's CPU from the lookups it had accepted (bench-lookup: refusals p99 0.5–0.7 s, 0.1 s so).
            doors=[Door(LOOK_UP_DEBT, admission.full, overloaded())],
            # The last line, for every call: gRPC's own limit, above what the door lets through, with room for 16 of
            # lookup's other calls and streams (a package download, a person's own view) besides.
            max_concurrent_rpcs=admission.most + 16,
            kept=retention(
                timedelta(days=settings.disclosed_content_days),
                timedelta(days=settings.disclosure_retention_days),
                timedelta(days=settings.relayed_letter_days),
                timedelta(days=settings.set_aside_letter_days),
            ),
            background=[
                lambda stopping: lookups.run_relay(stopping, settings.relay_interval_seconds),
                lambda stopping: extracts.run_housekeeping(stopping, settings.extract_housekeeping_interval_seconds),
                lambda stopping: corrections.run(stopping, settings.correction_relay_interval_seconds),
                lambda stopping: checkpoints.run(stopping, settings.audit_checkpoint_interval_seconds),
            ],
            on_close=[registry.close, live.close],
        )

    return assemble(NAME, settings, wire, span_processors)
