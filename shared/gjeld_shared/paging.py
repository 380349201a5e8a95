"""Pages for list methods (AIP-158): page sizes and opaque page tokens."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from .errors import FieldViolation, InvalidArgument

T = TypeVar("T")


def page_size(requested: int, *, default: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidArgument([FieldViolation("page_size", "must not be negative")])
    return min(requested or default, maximum)


def encode_token(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, separators=(",", ":")).encode()).decode()


def decode_token(token: str) -> dict[str, Any] | None:
    """The position a page token stands for; None for the first page."""
    if not token:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        position = None
    if not isinstance(position, dict):
        raise _not_ours()
    return position


def _not_ours() -> InvalidArgument:
    return InvalidArgument([FieldViolation("page_token", "is not a token this method gave out")])


def newest_first_after(token: str) -> tuple[datetime, uuid.UUID] | None:
    """For listings newest first by (time, id): the last row of the previous page, or None for the first page."""
    position = decode_token(token)
    if position is None:
        return None
    try:
        return datetime.fromisoformat(position["time"]), uuid.UUID(position["id"])
    except (KeyError, ValueError, TypeError):
        raise _not_ours() from None


def newest_first_page(
    rows: Sequence[T], size: int, key: Callable[[T], tuple[datetime, uuid.UUID]]
) -> tuple[list[T], str]:
    """Cut `size + 1` fetched rows to a page and the token for the next one ("" on the last page)."""
    page = list(rows[:size])
    if len(rows) <= size:
        return page, ""
    moment, row_id = key(page[-1])
    return page, encode_token({"time": moment.isoformat(), "id": str(row_id)})
