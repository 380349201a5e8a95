"""The request boundary every service puts in front of its servicers.

For each call it establishes the caller from the bearer token (UNAUTHENTICATED
without a valid one), makes it available to the use case through
`callers.current_caller()`, and turns what the use case raises into a status:
a `GjeldError` into its code and details, anything else into a bare INTERNAL
whose cause is logged here and never sent.

Health checking and server reflection need no identity.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc.aio import AbortError, ServicerContext

from .callers import TokenVerifier, bearer, reset_caller, set_caller
from .errors import GjeldError, Unauthenticated, internal_status, to_status

log = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")


class RequestBoundary(grpc.aio.ServerInterceptor):
    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        return _wrap(handler, self._verifier, method)


def _authenticate(verifier: TokenVerifier, context: ServicerContext[Any, Any]) -> Any:
    token = bearer(context.invocation_metadata())
    if token is None:
        raise Unauthenticated("TOKEN_MISSING", "the call carries no bearer token")
    return set_caller(verifier.verify(token))


async def _fail(context: ServicerContext[Any, Any], error: Exception, method: str) -> None:
    if isinstance(error, GjeldError):
        await context.abort_with_status(to_status(error))
    # The cause stays here: its text could hold request data.
    log.error("unexpected failure in %s", method, exc_info=error)
    await context.abort_with_status(internal_status())


def _wrap(handler: grpc.RpcMethodHandler, verifier: TokenVerifier, method: str) -> grpc.RpcMethodHandler:
    if handler.unary_unary or handler.stream_unary:
        inner = handler.unary_unary or handler.stream_unary

        async def answer(request: Any, context: ServicerContext[Any, Any]) -> Any:
            token = None
            try:
                token = _authenticate(verifier, context)
                return await inner(request, context)
            except AbortError:
                raise
            except Exception as error:  # noqa: BLE001 - every failure becomes a status
                await _fail(context, error, method)
            finally:
                if token is not None:
                    reset_caller(token)

        factory = grpc.unary_unary_rpc_method_handler if handler.unary_unary else grpc.stream_unary_rpc_method_handler
        return factory(
            answer, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )

    inner_stream = handler.unary_stream or handler.stream_stream

    async def stream(request: Any, context: ServicerContext[Any, Any]) -> AsyncIterator[Any]:
        token = None
        try:
            token = _authenticate(verifier, context)
            async for item in inner_stream(request, context):
                yield item
        except AbortError:
            raise
        except Exception as error:  # noqa: BLE001
            await _fail(context, error, method)
        finally:
            if token is not None:
                reset_caller(token)

    factory = grpc.unary_stream_rpc_method_handler if handler.unary_stream else grpc.stream_stream_rpc_method_handler
    return factory(
        stream, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
    )
