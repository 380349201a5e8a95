"""Checks of request fields that every servicer makes the same way: identity and organisation numbers, ids, short
texts. Each names the bad field (`subject.value`) in a violation and never echoes the value."""

from __future__ import annotations

import uuid

from . import identity_numbers, organization_numbers
from .errors import FieldViolation, InvalidArgument, Violations


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
    return value


def uuid_of(field: str, value: str, what: str = "an id the registry gave out") -> uuid.UUID:
    """The id in `field`, or INVALID_ARGUMENT naming it."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, f"is not {what}")]) from None
