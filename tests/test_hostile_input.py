"""Hostile input: every RPC of every service, found by reflection, answers bytes that do not decode and messages
with odd values (NUL characters, timestamps and durations out of range, unknown enum values, long strings) with a
deliberate status, never INTERNAL or UNKNOWN, and never hangs."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import grpc
from gjeld_shared.callers import SCOPE_EXTRACT, SCOPE_LOOKUP
from gjeld_tools.connect import Credential
from gjeld_tools.testing import BANK, DENIED, PERSON, Method, Registry, discover
from google.protobuf import descriptor, descriptor_pool, message, message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NEVER = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
UNDECODABLE = {
    "garbage": b"\xff" * 7,
    "truncated": b"\x0a\x05ab",
    "invalid UTF-8 in field 1": b"\x0a\x02\xff\xfe",
    "a group wire type": b"\x0b\x0c",
}


def callers(registry: Registry) -> list[Credential]:
    """The valid credentials: one of them opens each RPC (the auth matrix shows which)."""
    return [
        registry.as_institution(BANK, scopes=(SCOPE_LOOKUP, SCOPE_EXTRACT)),
        registry.as_subject(PERSON),
        registry.as_operator(),
        registry.as_service("lookup"),
        registry.as_service("portal"),  # the public statistics
        Credential(token=registry.as_institution(BANK).token),  # an institution with its token only (consent APIs)
    ]


async def call(registry: Registry, method: Method, credential: Credential, payload: bytes) -> grpc.StatusCode:
    channel = registry.channel(method.service, credential)
    metadata = credential.metadata(method.service)
    try:
        if method.client_streaming:

            async def stream() -> AsyncIterator[bytes]:
                yield payload

            await channel.stream_unary(method.path)(stream(), metadata=metadata, timeout=15)
        else:
            await channel.unary_unary(method.path)(payload, metadata=metadata, timeout=15)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def opened(registry: Registry) -> list[tuple[Method, Credential]]:
    """Each RPC with a credential that gets past its access rule (so the input reaches the method)."""
    found = []
    for method in await discover(registry):
        for credential in callers(registry):
            if await call(registry, method, credential, b"") not in (*DENIED, grpc.StatusCode.UNAVAILABLE):
                found.append((method, credential))
                break
        else:
            raise AssertionError(f"no valid credential opens {method.path}")
    return found


async def test_bytes_that_do_not_decode_are_invalid_argument(registry: Registry) -> None:
    for method, credential in await opened(registry):
        for name, payload in UNDECODABLE.items():
            code = await call(registry, method, credential, payload)
            assert code not in NEVER, (method.path, name, code)
            # Bytes that cannot be any message are named; others may decode (as unknown fields) and be served.
            if name in ("garbage", "truncated"):
                assert code == grpc.StatusCode.INVALID_ARGUMENT, (method.path, name, code)


def _scalar(field: descriptor.FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == field.TYPE_STRING:
        return st.one_of(st.text(max_size=20), st.just("a\x00b"), st.just("x" * 300), st.just("14842249091"))
    if kind == field.TYPE_BYTES:
        return st.binary(max_size=20)
    if kind == field.TYPE_BOOL:
        return st.booleans()
    if kind == field.TYPE_ENUM:
        return st.integers(-3, 40)
    if kind in (field.TYPE_INT64, field.TYPE_SINT64, field.TYPE_SFIXED64):
        return st.integers(-(2**63), 2**63 - 1)
    if kind in (field.TYPE_UINT64, field.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if kind in (field.TYPE_UINT32, field.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if kind in (field.TYPE_DOUBLE, field.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    return st.integers(-(2**31), 2**31 - 1)


@functools.cache
def messages(kind: descriptor.Descriptor, depth: int = 0) -> st.SearchStrategy[message.Message]:
    """Messages of a type with odd but well-formed values: they decode, and must be refused or served."""
    cls = message_factory.GetMessageClass(kind)
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in kind.fields:
        if field.type == field.TYPE_MESSAGE:
            if depth >= 3:
                continue
            value: st.SearchStrategy[Any] = messages(field.message_type, depth + 1)
        else:
            value = _scalar(field)
        fields[field.name] = st.lists(value, max_size=3) if field.is_repeated else value

    @st.composite
    def build(draw: st.DrawFn) -> message.Message:
        made = cls()
        for name, strategy in fields.items():
            if not draw(st.booleans()):
                continue
            value = draw(strategy)
            target = getattr(made, name)
            if isinstance(value, list):
                for item in value:
                    if isinstance(item, message.Message):
                        target.add().CopyFrom(item)
                    else:
                        target.append(item)
            elif isinstance(value, message.Message):
                target.CopyFrom(value)
            else:
                try:
                    setattr(made, name, value)
                except (ValueError, TypeError):
                    pass  # a value the field cannot hold on the client side either
        return made

    return build()


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_odd_values_never_answer_internal(registry: Registry, data: st.DataObject) -> None:
    if not hasattr(registry, "_opened"):
        registry._opened = await opened(registry)  # type: ignore[attr-defined]
    pool = descriptor_pool.Default()
    for method, credential in registry._opened:  # type: ignore[attr-defined]
        request = data.draw(messages(pool.FindMessageTypeByName(method.input_type)), label=method.path)
        code = await call(registry, method, credential, request.SerializeToString())
        assert code not in NEVER, (method.path, code, request)
