"""Checks of request fields that every servicer makes the same way: identity and organisation numbers, ids, short
texts. Each names the bad field (`subject.value`) in a violation and never echoes the value."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from google.protobuf import duration_pb2, timestamp_pb2

from . import identity_numbers, organization_numbers
from .errors import FieldViolation, InvalidArgument, Violations
from .timestamps import from_proto


def identity_number(violations: Violations, field: str, value: str) -> str:
    """The identity number, or "" with a violation of `field` (DOM-4)."""
    with violations.catching(field, identity_numbers.InvalidIdentityNumber):
        return identity_numbers.validate(value)
    return ""


def organization_number(violations: Violations, field: str, value: str) -> str:
    """The organisation number, or "" with a violation of `field`."""
    with violations.catching(field, organization_numbers.InvalidOrganizationNumber):
        return organization_numbers.validate(value)
    return ""


def text(violations: Violations, field: str, value: str, *, maximum: int, required: bool = False) -> str:
    """A short text field: at most `maximum` characters, and present if `required`."""
    if required and not value:
        violations.add(field, f"is required, at most {maximum} characters")
    elif len(value) > maximum:
        violations.add(field, f"must be at most {maximum} characters")
    elif not printable(value):
        violations.add(field, "must not hold control characters")
    return value


def prose(violations: Violations, field: str, value: str, *, maximum: int, required: bool = False) -> str:
    """A person's words (a reason, an answer): lines of text, at most `maximum` characters, present if `required`."""
    if required and not value.strip():
        violations.add(field, f"is required, at most {maximum} characters")
    elif len(value) > maximum:
        violations.add(field, f"must be at most {maximum} characters")
    elif not printable(value.replace("\r\n", "\n").replace("\n", " ").replace("\t", " ")):
        violations.add(field, "must not hold control characters other than line breaks")
    return value


def printable(value: str) -> bool:
    """No NUL or other control character (PostgreSQL cannot store NUL; none belongs in an id or a reference)."""
    return value.isprintable()


def uuid_of(field: str, value: str, what: str = "an id the registry gave out") -> uuid.UUID:
    """The id in `field`, or INVALID_ARGUMENT naming it."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, f"is not {what}")]) from None


def timestamp(violations: Violations, field: str, message: timestamp_pb2.Timestamp) -> datetime | None:
    """The moment, or None with a violation of `field` when it is outside what a timestamp may hold."""
    try:
        return from_proto(message)
    except (ValueError, OverflowError):
        violations.add(field, "is not a valid time (years 1 to 9999)")
        return None


def duration(violations: Violations, field: str, message: duration_pb2.Duration) -> timedelta | None:
    """The duration, or None with a violation of `field` when it is outside what a duration may hold."""
    try:
        return message.ToTimedelta()
    except (ValueError, OverflowError):
        violations.add(field, "is not a valid duration")
        return None


def day(violations: Violations, field: str, value: str) -> date | None:
    """A day written YYYY-MM-DD, or None when unset (or with a violation of `field` when it is not one)."""
    if not value:
        return None
    try:
        if len(value) == len("YYYY-MM-DD"):  # fromisoformat also reads YYYYMMDD and week dates
            return date.fromisoformat(value)
    except ValueError:
        pass
    violations.add(field, "must be a day, YYYY-MM-DD")
    return None
