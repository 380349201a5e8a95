"""What every service's bootstrap does the same way: tracing, database engine, keys,
institution directory, token verification; the service adds its servicers and tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from sqlalchemy.ext.asyncio import AsyncEngine

from . import db, telemetry
from .callers import TokenVerifier
from .clients import ServiceToken, internal_channel
from .identity_numbers import SubjectKeys
from .institutions import InstitutionDirectory
from .server import BackgroundTask, Registration, ServiceRuntime
from .settings import ServiceSettings, load_subject_keys


@dataclass
class Parts:
    """The common parts a service's wiring receives."""

    name: str
    settings: ServiceSettings
    engine: AsyncEngine
    tracer_provider: TracerProvider
    keys: SubjectKeys
    directory: InstitutionDirectory

    def channel(self, target: str) -> grpc.aio.Channel:
        """A channel to another gjeld service, authenticated as this service."""
        if self.settings.service_token_file is None:
            raise ValueError(f"{self.name} calls other services and needs GJELD_SERVICE_TOKEN_FILE")
        return internal_channel(target, ServiceToken(self.settings.service_token_file), self.tracer_provider)


@dataclass
class Wiring:
    """What a service adds: its gRPC services, background tasks, and what to close on stop."""

    registrations: Sequence[Registration]
    background: Sequence[BackgroundTask] = ()
    on_close: Sequence[Callable[[], Awaitable[None]]] = ()


def registration(module: Any, service: str, add: Callable[[Any, grpc.aio.Server], None], servicer: Any) -> Registration:
    """Register `servicer` for `service`, a service in the generated `module`."""
    full_name = module.DESCRIPTOR.services_by_name[service].full_name
    return Registration(full_name, lambda server: add(servicer, server))


def assemble(
    name: str, settings: ServiceSettings, wire: Callable[[Parts], Wiring], span_processors: Sequence[SpanProcessor] = ()
) -> ServiceRuntime:
    provider = telemetry.tracer_provider(f"gjeld-{name}", settings.trace_file, span_processors)
    engine = db.create_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        application_name=f"gjeld-{name}",
        tracer_provider=provider,
    )
    parts = Parts(
        name,
        settings,
        engine,
        provider,
        load_subject_keys(settings.subject_keys_file),
        InstitutionDirectory.load(settings.institutions_file),
    )
    wiring = wire(parts)
    return ServiceRuntime(
        name=name,
        listen_address=settings.listen_address,
        verifier=TokenVerifier(
            settings.token_public_key_file.read_bytes(), settings.token_issuer, settings.token_audience
        ),
        tracer_provider=provider,
        registrations=wiring.registrations,
        background=wiring.background,
        on_close=[*wiring.on_close, engine.dispose],
        grace_seconds=settings.shutdown_grace_seconds,
        port_file=settings.port_file,
    )
