"""Outbound calls to the other gjeld services.

Internal channels cap the reconnect backoff (gRPC's default grows to 120 s, far
too long for a neighbour that restarts), carry trace context, and authenticate
with the service's own token. Deadlines are derived from the incoming call's
remaining time, capped: a client that set no deadline leaves ~1e19 s remaining.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from opentelemetry.sdk.trace import TracerProvider

CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.keepalive_time_ms", 30_000),
]


class ServiceToken:
    """This service's bearer token, re-read when the file changes (Kubernetes rotates projected tokens)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._mtime = -1.0
        self._token = ""

    def __call__(self) -> str:
        mtime = self._path.stat().st_mtime
        if mtime != self._mtime:
            self._token, self._mtime = self._path.read_text().strip(), mtime
        return self._token


class _Authenticate:
    """Adds this service's bearer token to every outbound call.

    grpc.aio files each interceptor under the first call kind it is an instance of (unary-unary, unary-stream,
    stream-unary, stream-stream), so one object cannot serve all four: each kind has its own subclass below."""

    def __init__(self, token: Callable[[], str]) -> None:
        self._token = token

    def _with_token(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        metadata.add("authorization", f"Bearer {self._token()}")
        return grpc.aio.ClientCallDetails(
            details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
        )


class _AuthenticateUnaryUnary(_Authenticate, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._with_token(details), request)


class _AuthenticateUnaryStream(_Authenticate, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._with_token(details), request)


class _AuthenticateStreamUnary(_Authenticate, grpc.aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return await continuation(self._with_token(details), request_iterator)


class _AuthenticateStreamStream(_Authenticate, grpc.aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation: Any, details: Any, request_iterator: Any) -> Any:
        return await continuation(self._with_token(details), request_iterator)


def authenticating(token: Callable[[], str]) -> list[Any]:
    """One authenticating interceptor per call kind."""
    kinds = (_AuthenticateUnaryUnary, _AuthenticateUnaryStream, _AuthenticateStreamUnary, _AuthenticateStreamStream)
    return [kind(token) for kind in kinds]


def internal_channel(target: str, token: Callable[[], str], tracer_provider: TracerProvider | None) -> grpc.aio.Channel:
    interceptors: list[Any] = [*aio_client_interceptors(tracer_provider=tracer_provider), *authenticating(token)]
    return grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS, interceptors=interceptors)


def deadline(context: grpc.aio.ServicerContext[Any, Any] | None, cap: float) -> float:
    """Seconds left for an outbound call: the caller's remaining time, at most `cap`."""
    remaining = context.time_remaining() if context is not None else None
    return cap if remaining is None else max(0.0, min(remaining, cap))
