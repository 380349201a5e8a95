"""Domain errors and the one mapping from them to gRPC status (AIP-193).

Use cases raise these; the request boundary (interceptors.py) turns each into a
canonical status code with a `google.rpc.Status` carrying one `ErrorInfo` (a stable
UPPER_SNAKE reason, domain "gjeld", metadata with every dynamic value) and, for
invalid input, a `BadRequest` with one field violation per bad field.

Messages and metadata never contain identity numbers. They may echo what a caller sent
(a request id, its own consent id), so the mapping to a status masks any that slipped
in, and so do violations as they are collected (ingest stores them as rejections).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from google.protobuf.message import Message
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from .redaction import redact

DOMAIN = "gjeld"


class GjeldError(Exception):
    """An error a caller should see, with its status code and stable reason."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL

    def __init__(self, reason: str, message: str, metadata: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.metadata = dict(metadata or {})


class Unauthenticated(GjeldError):
    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(GjeldError):
    code = grpc.StatusCode.PERMISSION_DENIED


class NotFound(GjeldError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(GjeldError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(GjeldError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(GjeldError):
    """Given up part-way; nothing of it kept, so the whole of it may be sent again."""

    code = grpc.StatusCode.ABORTED


class Unavailable(GjeldError):
    code = grpc.StatusCode.UNAVAILABLE


class ResourceExhausted(GjeldError):
    """More is asked than the service can take now: refused at once, to be retried after a pause."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


@dataclass(frozen=True)
class FieldViolation:
    """One bad field: its path in the request (`changes[2].register.debtor.value`) and what is wrong."""

    field: str
    description: str


class InvalidArgument(GjeldError):
    """Bad input: one violation per bad field."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, violations: list[FieldViolation], reason: str = "INVALID_ARGUMENT") -> None:
        fields = ", ".join(v.field for v in violations[:5]) + (" …" if len(violations) > 5 else "")
        super().__init__(reason, f"invalid request: {fields}", {"violation_count": str(len(violations))})
        self.violations = violations


class Violations:
    """Collects field violations while a request is checked, then raises them all at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, redact(description)))

    @contextmanager
    def catching(self, field: str, *errors: type[ValueError]) -> Iterator[None]:
        """Record a ValueError raised inside the block as a violation of `field`."""
        try:
            yield
        except errors as exc:
            self.add(field, str(exc))

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidArgument(self.items)


def _pack(message: Message) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def to_status(error: GjeldError) -> grpc.Status:
    """The gRPC status for a domain error, with ErrorInfo and field violations as details."""
    metadata = {key: redact(value) for key, value in error.metadata.items()}
    details = [_pack(error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=metadata))]
    if isinstance(error, InvalidArgument):
        details.append(
            _pack(
                error_details_pb2.BadRequest(
                    field_violations=[
                        error_details_pb2.BadRequest.FieldViolation(field=v.field, description=redact(v.description))
                        for v in error.violations
                    ]
                )
            )
        )
    code_value: int = error.code.value[0]
    status: grpc.Status = rpc_status.to_status(
        status_pb2.Status(code=code_value, message=redact(error.message), details=details)
    )
    return status


def internal_status() -> grpc.Status:
    """The status for an unexpected failure: nothing of its cause reaches the caller."""
    status: grpc.Status = rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.INTERNAL,
            message="internal error",
            details=[_pack(error_details_pb2.ErrorInfo(reason="INTERNAL", domain=DOMAIN))],
        )
    )
    return status


@dataclass(frozen=True)
class RemoteError:
    """What a failed call to another service said, decoded from its status details."""

    code: grpc.StatusCode
    reason: str
    metadata: dict[str, str]
    field_violations: list[FieldViolation]


def decode(error: grpc.RpcError) -> RemoteError:
    """Read the ErrorInfo and field violations out of a failed call."""
    reason, metadata, violations = "", {}, []
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        info = error_details_pb2.ErrorInfo()
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(info):
            reason, metadata = info.reason, dict(info.metadata)
        elif detail.Unpack(bad):
            violations = [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return RemoteError(error.code(), reason, metadata, violations)
