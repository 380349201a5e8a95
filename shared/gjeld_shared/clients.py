"""Outbound calls: to the other gjeld services, and to institutions (`gjeld.creditor.v1`).

Channels cap the reconnect backoff (gRPC's default grows to 120 s, far too long for a neighbour that restarts) and
carry trace context. Internal channels authenticate with the service's workload certificate (mutual TLS); channels
to institutions with the registry's own enterprise certificate, and verify the institution's server certificate.
Neither sends a bearer token: nothing an institution receives from us opens anything of ours. Deadlines are derived
from the incoming call's remaining time, capped: a client that set no deadline leaves ~1e19 s remaining.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from gjeld.creditor.v1 import creditor_service_pb2_grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from opentelemetry.sdk.trace import TracerProvider

from .certificates import TlsIdentity, client_credentials
from .institutions import Institution

CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
]


def mutual_tls_channel(
    target: str, server_authorities: Path, identity: TlsIdentity, tracer_provider: TracerProvider | None
) -> grpc.aio.Channel:
    """A traced channel over mutual TLS: `identity` presented, the server's certificate checked against
    `server_authorities` and the target's host name. To a gjeld service with this service's workload certificate;
    to an institution with the registry's enterprise certificate. No bearer token either way."""
    return grpc.aio.secure_channel(
        target,
        client_credentials(server_authorities, identity),
        options=CHANNEL_OPTIONS,
        interceptors=aio_client_interceptors(tracer_provider=tracer_provider),
    )


class CreditorChannels:
    """One channel to each institution's creditor service (gjeld.creditor.v1), made on first use, closed together."""

    def __init__(self, make: Callable[[Institution], grpc.aio.Channel]) -> None:
        self._make = make
        self._stubs: dict[str, creditor_service_pb2_grpc.CreditorServiceAsyncStub] = {}
        self._channels: list[grpc.aio.Channel] = []

    def stub(self, institution: Institution) -> creditor_service_pb2_grpc.CreditorServiceAsyncStub:
        if institution.organization_number not in self._stubs:
            channel = self._make(institution)
            self._channels.append(channel)
            self._stubs[institution.organization_number] = creditor_service_pb2_grpc.CreditorServiceStub(channel)
        return self._stubs[institution.organization_number]

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()


def deadline(context: grpc.aio.ServicerContext[Any, Any] | None, cap: float) -> float:
    """Seconds left for an outbound call: the caller's remaining time, at most `cap`."""
    remaining = context.time_remaining() if context is not None else None
    return cap if remaining is None else max(0.0, min(remaining, cap))
