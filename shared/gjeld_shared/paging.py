"""Pages for list methods (AIP-158): page sizes and opaque page tokens.

A page token is the position of the last row shown, sealed (AES-GCM) with a key of the service's own and bound to
the caller it was given to: it reveals nothing (not a time, an id or a keyed hash of an identity number), cannot be
forged, and is refused (INVALID_ARGUMENT on `page_token`) from anyone else.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .callers import InstitutionCaller, OperatorCaller, ServiceCaller, SubjectCaller, current_caller
from .errors import FieldViolation, InvalidArgument

T = TypeVar("T")
NONCE = 12


# The longest page token a caller may send (every token this module makes is far shorter).
MAX_TOKEN_LENGTH = 1_000


def page_size(requested: int, *, default: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidArgument([FieldViolation("page_size", "must not be negative")])
    return min(requested or default, maximum)


def after_position(value: int) -> int:
    """The position a feed's reader has seen (feeds are read by position, not by page token)."""
    if value < 0:
        raise InvalidArgument([FieldViolation("after_position", "must not be negative")])
    return value


def read_on(positions: Sequence[int], after: int) -> int:
    """The position a feed's reader reads on from: the last one returned, or `after` when there was none."""
    return positions[-1] if positions else after


def not_ours() -> InvalidArgument:
    return InvalidArgument([FieldViolation("page_token", "is not a token this method gave out")])


def _caller_binding() -> bytes:
    """Who the token is for, as associated data (never written into the token)."""
    caller = current_caller()
    if isinstance(caller, SubjectCaller):
        return f"subject:{caller.identity_number}".encode()
    if isinstance(caller, InstitutionCaller):
        return f"institution:{caller.organization_number}".encode()
    if isinstance(caller, OperatorCaller):
        return f"operator:{caller.name}".encode()
    assert isinstance(caller, ServiceCaller)
    return f"service:{caller.name}".encode()


class PageTokens:
    """Seals and opens one service's page tokens."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encode(self, position: dict[str, Any]) -> str:
        nonce = os.urandom(NONCE)
        sealed = self._aead.encrypt(nonce, json.dumps(position, separators=(",", ":")).encode(), _caller_binding())
        return base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=").decode()

    def decode(self, token: str) -> dict[str, Any] | None:
        """The position a page token stands for; None for the first page."""
        if not token:
            return None
        if len(token) > MAX_TOKEN_LENGTH:
            raise not_ours()
        try:
            raw = base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4))
            position = json.loads(self._aead.decrypt(raw[:NONCE], raw[NONCE:], _caller_binding()))
        except (ValueError, InvalidTag):
            raise not_ours() from None
        if not isinstance(position, dict):
            raise not_ours()
        return position

    def newest_first_after(self, token: str) -> tuple[datetime, uuid.UUID] | None:
        """For listings newest first by (time, id): the last row of the previous page, or None for the first page."""
        position = self.decode(token)
        if position is None:
            return None
        try:
            return datetime.fromisoformat(position["time"]), uuid.UUID(position["id"])
        except (KeyError, ValueError, TypeError):
            raise not_ours() from None

    def newest_first_page(
        self, rows: Sequence[T], size: int, key: Callable[[T], tuple[datetime, uuid.UUID]]
    ) -> tuple[list[T], str]:
        """Cut `size + 1` fetched rows to a page and the token for the next one ("" on the last page)."""
        page = list(rows[:size])
        if len(rows) <= size:
            return page, ""
        moment, row_id = key(page[-1])
        return page, self.encode({"time": moment.isoformat(), "id": str(row_id)})
