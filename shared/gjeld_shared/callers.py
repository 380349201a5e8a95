"""Who is calling: institutions, subjects, operators and gjeld's own services.

The request boundary (`interceptors.py`) establishes the caller from what the call presents, by each RPC's access
rule (`access.py`): a service from its workload certificate only, an institution from its enterprise certificate
and/or a Maskinporten token, a person from an ID-porten token, an operator from the operator's own token. It puts
the caller in a context variable that use cases read through `require_*`, which raise PERMISSION_DENIED for a
caller acting outside its role (a second line behind the access rule).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import PermissionDenied, Unauthenticated

SCOPE_LOOKUP = "gjeld:lookup"
# An institution orders score-model extracts about its own customers (DOM-11).
SCOPE_EXTRACT = "gjeld:extract"
# Institutions and authorities (the supervisor, the central bank, the statistics bureau) read the debt statistics.
SCOPE_STATISTICS = "gjeld:statistics"
# What the operator's identity provider grants the registry's staff (their other roles do not reach gjeld).
SCOPE_OPERATE = "gjeld:operate"


@dataclass(frozen=True)
class InstitutionCaller:
    """A financial institution, by organisation number, with the scopes its token grants (none when it came with
    its certificate alone)."""

    organization_number: str
    scopes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SubjectCaller:
    """A person acting for themselves. The number is hidden from repr, so it cannot reach a log by accident."""

    identity_number: str = field(repr=False)


@dataclass(frozen=True)
class ServiceCaller:
    """One of gjeld's own services, known by its workload certificate."""

    name: str


@dataclass(frozen=True)
class OperatorCaller:
    """A member of the registry operator's staff. Operators see no identity numbers (DOM-15)."""

    name: str


Caller = InstitutionCaller | SubjectCaller | ServiceCaller | OperatorCaller

_current: contextvars.ContextVar[Caller | None] = contextvars.ContextVar("gjeld_caller", default=None)


def set_caller(caller: Caller | None) -> contextvars.Token[Caller | None]:
    return _current.set(caller)


def reset_caller(token: contextvars.Token[Caller | None]) -> None:
    _current.reset(token)


def current_caller() -> Caller:
    caller = _current.get()
    if caller is None:
        raise Unauthenticated("UNAUTHENTICATED", "no caller identity")
    return caller


def require_institution() -> InstitutionCaller:
    caller = current_caller()
    if not isinstance(caller, InstitutionCaller):
        raise PermissionDenied("INSTITUTIONS_ONLY", "only institutions may call this method")
    return caller


def require_subject() -> SubjectCaller:
    caller = current_caller()
    if not isinstance(caller, SubjectCaller):
        raise PermissionDenied("SUBJECTS_ONLY", "only the data subject may call this method")
    return caller


def require_operator() -> OperatorCaller:
    caller = current_caller()
    if not isinstance(caller, OperatorCaller):
        raise PermissionDenied("OPERATORS_ONLY", "only the registry's operators may call this method")
    return caller


def bearer(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The bearer token from call metadata, if any."""
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    return None
