"""Pages for list methods (AIP-158): page sizes and opaque page tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

from .errors import FieldViolation, InvalidArgument


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
        raise InvalidArgument([FieldViolation("page_token", "is not a token this method gave out")])
    return position
