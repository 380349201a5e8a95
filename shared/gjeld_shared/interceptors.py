"""The request boundary every service puts in front of its servicers.

For each call it establishes the caller by the method's access rule (`access.py`) from the peer's certificate and
the bearer token, makes it available to the use case through `callers.current_caller()`, and turns what the use
case raises into a status: a `GjeldError` into its code and details, anything else into a bare INTERNAL whose cause
is logged here and never sent.

Health checking and server reflection need no identity.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import asyncpg
import grpc
from grpc.aio import AbortError, ServicerContext
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from .access import Nobody, Presented, Rule
from .callers import bearer, reset_caller, set_caller
from .certificates import PeerCertificates
from .errors import FieldViolation, GjeldError, InvalidArgument, Unavailable, internal_status, to_status
from .tokens import TokenVerifier

log = logging.getLogger(__name__)
if TYPE_CHECKING:  # grpc's handler is generic in its stubs only
    Handler = grpc.RpcMethodHandler[Any, Any]

PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class RequestBoundary(grpc.aio.ServerInterceptor):
    def __init__(
        self,
        rules: Mapping[str, Rule],
        verifier: TokenVerifier,
        peers: PeerCertificates,
        admitted: Callable[[str], bool],
    ) -> None:
        self._rules, self._verifier, self._peers, self._admitted = rules, verifier, peers, admitted

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        rule = self._rules.get(method, Nobody())
        return _wrap(handler, lambda context: set_caller(rule.admit(self._presented(context))), method)

    def _presented(self, context: ServicerContext[Any, Any]) -> Presented:
        certificate = list(context.auth_context().get("x509_pem_cert", ()))
        peer = self._peers.recognise(certificate[0]) if certificate else None
        token = bearer(context.invocation_metadata())
        return Presented(peer, bool(certificate), token, self._verifier, self._admitted)


class Door(grpc.aio.ServerInterceptor):
    """In front of everything else (the call's span, its caller, its handler): calls of `method` refused with
    `refusal` while `full()`, at the cost of a refusal only. A service sheds its overload here, so that refusing
    does not take the CPU its accepted calls need."""

    def __init__(self, method: str, full: Callable[[], bool], refusal: GjeldError) -> None:
        self._method, self._full = method, full
        status = to_status(refusal)

        async def refuse(request: bytes, context: ServicerContext[Any, Any]) -> None:
            await context.abort_with_status(status)

        self._refuse: Handler = grpc.unary_unary_rpc_method_handler(refuse)  # the request is not even read

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        if handler_call_details.method == self._method and self._full():
            return self._refuse
        return await continuation(handler_call_details)


async def _fail(context: ServicerContext[Any, Any], error: Exception, method: str) -> None:
    if isinstance(error, GjeldError):
        await context.abort_with_status(to_status(error))
    if _data_exception(error):
        # The last line: a value the checks let through that PostgreSQL cannot store (SQLSTATE class 22) is the
        # caller's, not ours. The checks name fields; this cannot.
        log.warning("a request value the database refused in %s: %s", method, type(error).__name__)
        await context.abort_with_status(
            to_status(
                InvalidArgument(
                    [FieldViolation("request", "holds a value the registry cannot store")], "UNSTORABLE_VALUE"
                )
            )
        )
    if _database_unavailable(error):
        # A database restart, a failover or a bound reached: the call may be tried again.
        log.warning("the database could not serve %s: %s", method, type(error).__name__)
        await context.abort_with_status(
            to_status(Unavailable("DATABASE_UNAVAILABLE", "the registry's database could not serve this; try again"))
        )
    # The cause stays here: its text could hold request data.
    log.error("unexpected failure in %s", method, exc_info=error)
    await context.abort_with_status(internal_status())


Admit = Callable[[ServicerContext[Any, Any]], Any]


def _causes(error: BaseException) -> tuple[Any, ...]:
    """The error, and what the driver raised under SQLAlchemy's wrapper."""
    orig = getattr(error, "orig", None)
    return (error, orig, getattr(orig, "__cause__", None))


def _data_exception(error: BaseException) -> bool:
    """Whether PostgreSQL refused a value (SQLSTATE class 22, data exception), through SQLAlchemy or the driver."""
    return any(
        isinstance(cause, asyncpg.exceptions.DataError) or str(getattr(cause, "sqlstate", "")).startswith("22")
        for cause in _causes(error)
    )


def _database_unavailable(error: BaseException) -> bool:
    """Whether the database was gone or gave up (connection lost or refused, shutting down, a statement or
    idle-transaction bound reached: SQLSTATE classes 08 and 57, and 25P03), through SQLAlchemy or the driver, or no
    pooled connection came free in time.
    OSError: the socket refused, reset or gone (a PostgreSQL that is restarting removes its Unix socket)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, PoolTimeout):  # no connection free within the pool's timeout
        return True
    return any(
        isinstance(cause, OSError) or str(getattr(cause, "sqlstate", "")).startswith(("08", "57", "25P03"))
        for cause in _causes(error)
    )


class _Undecodable:
    """Stands for request bytes that are not the method's message: refused as INVALID_ARGUMENT by the method's
    wrapper (after the caller is admitted), where gRPC would answer a failed decoding with UNKNOWN or INTERNAL."""


UNDECODABLE = _Undecodable()


def _undecodable() -> InvalidArgument:
    return InvalidArgument([FieldViolation("request", "is not a valid message of this method's request type")])


def _tolerant(deserialize: Any) -> Any:
    if deserialize is None:
        return None

    def read(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception:  # noqa: BLE001 - any failure to decode is the caller's malformed request
            return UNDECODABLE

    return read


async def _decoded(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        if request is UNDECODABLE:
            raise _undecodable()
        yield request


def _wrap(handler: Handler, admit: Admit, method: str) -> Handler:
    # grpc's stubs type a handler's behaviours as synchronous; a grpc.aio server's are coroutines and async
    # generators, so they are called here as what they are.
    if handler.unary_unary or handler.stream_unary:
        inner: Any = handler.unary_unary or handler.stream_unary
        streamed = handler.stream_unary is not None

        async def answer(request: Any, context: ServicerContext[Any, Any]) -> Any:
            token = None
            try:
                token = admit(context)
                if request is UNDECODABLE:
                    raise _undecodable()
                return await inner(_decoded(request) if streamed else request, context)
            except AbortError:
                raise
            except Exception as error:  # noqa: BLE001 - every failure becomes a status
                await _fail(context, error, method)
            finally:
                if token is not None:
                    reset_caller(token)

        factory: Any = (
            grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        )
        return factory(  # type: ignore[no-any-return]
            answer,
            request_deserializer=_tolerant(handler.request_deserializer),
            response_serializer=handler.response_serializer,
        )

    inner_stream: Any = handler.unary_stream or handler.stream_stream
    streamed_in = handler.stream_stream is not None

    async def stream(request: Any, context: ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        token = None
        try:
            token = admit(context)
            if request is UNDECODABLE:
                raise _undecodable()
            async for item in inner_stream(_decoded(request) if streamed_in else request, context):
                yield item
        except AbortError:
            raise
        except Exception as error:  # noqa: BLE001
            await _fail(context, error, method)
        finally:
            if token is not None:
                reset_caller(token)

    streaming: Any = (
        grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
    )
    return streaming(  # type: ignore[no-any-return]
        stream,
        request_deserializer=_tolerant(handler.request_deserializer),
        response_serializer=handler.response_serializer,
    )
