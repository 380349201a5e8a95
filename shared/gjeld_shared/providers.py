"""Calling a provider outside gjeld over HTTP (a register, a gateway): the bearer token the platform keeps fresh in a
file, read on each call, and a refusal named by its status alone. Neither ever holds the request's content, the
token, or the URL (which may name a person)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, TypeVar


class ProviderRefused(Exception):
    """A provider answered that it will not take this (the status, never the request's content)."""


class Reply(Protocol):
    @property
    def status_code(self) -> int: ...


R = TypeVar("R", bound=Reply)


def bearer(token_file: Path) -> dict[str, str]:
    """The Authorization header of the token in `token_file` (a Maskinporten or provider token)."""
    token = token_file.read_text().strip()
    if not token or any(c.isspace() or not c.isprintable() for c in token):
        raise ProviderRefused(f"{token_file.name} holds no token")  # never the file's content in an error
    return {"Authorization": f"Bearer {token}"}


def checked(reply: R, what: str) -> R:
    """The reply, unless its status refuses: then ProviderRefused naming `what` and the status."""
    if reply.status_code >= 300:
        raise ProviderRefused(f"{what} answered {reply.status_code}")
    return reply
