"""The services the pages call, as the person: each call carries the person's own access token for that service,
over mutual TLS with the portal's workload certificate. The portal reads no database of any service."""

from __future__ import annotations

import grpc
from gjeld.consent.v1 import consent_service_pb2_grpc
from gjeld.ingest.v1 import ingest_service_pb2_grpc
from gjeld.lookup.v1 import lookup_service_pb2_grpc
from gjeld.notify.v1 import notify_service_pb2_grpc
from gjeld_shared.certificates import TlsIdentity
from gjeld_shared.clients import mutual_tls_channel
from opentelemetry.sdk.trace import TracerProvider

from .settings import PortalSettings


class Services:
    def __init__(self, settings: PortalSettings, tracer_provider: TracerProvider | None) -> None:
        identity = TlsIdentity(settings.tls_certificate_file, settings.tls_key_file)

        def channel(address: str) -> grpc.aio.Channel:
            return mutual_tls_channel(address, settings.workload_ca_file, identity, tracer_provider)

        self._channels = [channel(settings.lookup_address), channel(settings.consent_address)]
        self._channels += [channel(settings.notify_address), channel(settings.ingest_address)]
        lookup, consent, notify, ingest = self._channels
        self.lookup = lookup_service_pb2_grpc.LookupServiceStub(lookup)
        self.consent = consent_service_pb2_grpc.ConsentServiceStub(consent)
        self.notify = notify_service_pb2_grpc.NotifyServiceStub(notify)
        self.ingest = ingest_service_pb2_grpc.IngestServiceStub(ingest)  # the person's correction requests
        self.audiences = {
            "lookup": settings.lookup_audience,
            "consent": settings.consent_audience,
            "notify": settings.notify_audience,
            "ingest": settings.ingest_audience,
        }
        self.timeout = settings.call_timeout_seconds

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
