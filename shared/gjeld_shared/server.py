"""Server bootstrap: the one way a gjeld service runs.

A `ServiceRuntime` holds a grpc.aio server with tracing and the request boundary,
health checking and server reflection, plus the service's background tasks (an
outbox relay, a delivery worker). It listens three times:

- the certificate listener: TLS that requires a client certificate (services' workload certificates,
  institutions' enterprise certificates);
- the token listener: TLS without client certificates, for callers who have only a bearer token (persons,
  operators, institutions on the consent APIs);
- the health listener: plaintext, a separate server with nothing but grpc.health.v1, because Kubernetes' native
  gRPC probes speak plaintext only. It tells whether the service is serving, and nothing else.

Every RPC is served on both TLS listeners; its access rule decides who may call it with what. `start()` binds (port
0 in tests) and reports the real ports; `stop()` drains: health goes NOT_SERVING, in-flight calls get the grace
period, background tasks stop, then the database and the tracer are closed. `run()` serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.instrumentation.grpc import aio_server_interceptor
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider

from .access import Rule
from .certificates import PeerCertificates, TlsIdentity, certificate_listener, token_listener
from .interceptors import RequestBoundary
from .tokens import TokenVerifier

log = logging.getLogger(__name__)
# The largest request message any RPC takes (gRPC's default, stated here so that it is a decision): a delivery of
# 10,000 records per message fits well within it.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024

BackgroundTask = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class Registration:
    """One gRPC service to serve: its full name (for health and reflection), how to add it, and the access rule of
    each of its methods by full method name (`/gjeld.ingest.v1.IngestService/ListDebts`)."""

    full_name: str
    add: Callable[[grpc.aio.Server], None]
    rules: Mapping[str, Rule]


@dataclass(frozen=True)
class Listeners:
    """Where a service listens (host:port; port 0 picks a free one)."""

    certificate: str
    token: str
    health: str


@dataclass(frozen=True)
class Trust:
    """How a service proves itself and whom it believes: its own certificates (the workload certificate first; a
    public one for the names outside callers use, if any), the CAs whose client certificates its certificate listener
    accepts, who their certificates name, and the token verifier."""

    identities: Sequence[TlsIdentity]
    client_authorities: Sequence[Path]
    peers: PeerCertificates
    verifier: TokenVerifier
    admitted: Callable[[str], bool]


@dataclass
class ServiceRuntime:
    name: str
    listeners: Listeners
    trust: Trust
    tracer_provider: TracerProvider
    registrations: Sequence[Registration]
    background: Sequence[BackgroundTask] = ()
    # Checks that must pass before the service listens (e.g. that its key file matches what it stores).
    preflight: Sequence[Callable[[], Awaitable[None]]] = ()
    on_close: Sequence[Callable[[], Awaitable[None]]] = ()
    grace_seconds: float = 5.0
    port_file: Path | None = None
    # The most calls served at once; beyond it gRPC refuses RESOURCE_EXHAUSTED before any of our code runs (overload
    # shed at the door, cheaply). None: no limit.
    max_concurrent_rpcs: int | None = None
    # Interceptors in front of all others (a service's Door).
    doors: Sequence[grpc.aio.ServerInterceptor] = ()
    ports: dict[str, int] = field(default_factory=dict)
    _server: grpc.aio.Server | None = None
    _health_server: grpc.aio.Server | None = None
    _health: health.aio.HealthServicer | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> dict[str, int]:
        """Listen and serve; returns the ports bound, by listener (certificate, token, health)."""
        for check in self.preflight:
            await check()
        rules = {method: rule for r in self.registrations for method, rule in r.rules.items()}
        boundary = RequestBoundary(rules, self.trust.verifier, self.trust.peers, self.trust.admitted)
        server = grpc.aio.server(
            interceptors=[*self.doors, aio_server_interceptor(tracer_provider=self.tracer_provider), boundary],
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)],
            maximum_concurrent_rpcs=self.max_concurrent_rpcs,
        )
        for registration in self.registrations:
            registration.add(server)
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        names = [r.full_name for r in self.registrations]
        reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)
        health_server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(self._health, health_server)
        identities = self.trust.identities
        self.ports = {
            "certificate": server.add_secure_port(
                self.listeners.certificate, certificate_listener(identities, list(self.trust.client_authorities))
            ),
            "token": server.add_secure_port(self.listeners.token, token_listener(identities)),
            "health": health_server.add_insecure_port(self.listeners.health),
        }
        for listener, port in self.ports.items():
            if port == 0:
                raise OSError(f"{self.name} could not listen on {getattr(self.listeners, listener)}")
        await server.start()
        await health_server.start()
        self._server, self._health_server = server, health_server
        for name in ["", *names]:
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self._tasks = [
            asyncio.create_task(task(self._stopping), name=f"{self.name}-background") for task in self.background
        ]
        if self.port_file is not None:  # written whole, then moved into place: a reader never sees half
            written = self.port_file.with_suffix(".tmp")
            written.write_text(json.dumps(self.ports))
            written.replace(self.port_file)
        log.info("%s serving: %s", self.name, ", ".join(f"{k} port {v}" for k, v in self.ports.items()))
        return self.ports

    async def stop(self) -> None:
        if self._server is None:
            return
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        self._stopping.set()
        await self._server.stop(self.grace_seconds)
        if self._health_server is not None:
            await self._health_server.stop(0)
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, self.grace_seconds)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        for close in self.on_close:
            await close()
        self.tracer_provider.shutdown()
        self._server = None
        log.info("%s stopped", self.name)

    async def run(self) -> None:
        """Serve until SIGTERM or SIGINT, then stop gracefully."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await self.start()
        await stop.wait()
        log.info("%s received a stop signal; draining", self.name)
        await self.stop()


async def _every(interval: float, stopping: asyncio.Event) -> bool:
    """Wait `interval` seconds or until stopping; True while the task should go on."""
    try:
        await asyncio.wait_for(stopping.wait(), interval)
    except TimeoutError:
        return True
    return False


async def periodically(
    stopping: asyncio.Event, interval: float, work: Callable[[], Awaitable[object]], name: str
) -> None:
    """Run `work` now and every `interval` seconds until the service stops (housekeeping, checkpoints); a failed round
    is logged and the next one tries again."""
    while not stopping.is_set():
        try:
            await work()
        except Exception:
            log.exception("%s failed; trying again in %g s", name, interval)
        if not await _every(interval, stopping):
            return


async def drain_when_due(
    stopping: asyncio.Event,
    interval: float,
    is_due: Callable[[], Awaitable[bool]],
    drain: Callable[[], Awaitable[int]],
    name: str,
) -> None:
    """The loop of every polling worker (outbox relay, notice delivery) until the service stops.

    Every `interval` seconds it asks `is_due()` with tracing suppressed (an idle poll is not worth a trace),
    then calls `drain()` while it handles anything. A failed round is logged and the next one tries again.
    """
    while await _every(interval, stopping):
        try:
            with suppress_instrumentation():
                due = await is_due()
            while due and await drain() > 0:
                pass
        except Exception:
            log.exception("%s round failed", name)


def backoff(attempts: int, cap_seconds: float = 300.0) -> timedelta:
    """How long to wait after `attempts` failed attempts: 1 s, 2 s, 4 s … at most the cap."""
    return timedelta(seconds=min(cap_seconds, 2.0**attempts))
