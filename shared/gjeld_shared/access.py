"""Who may call each RPC, and with which credential: one rule per method, declared beside each servicer.

A service's rules name every method it serves (the runtime refuses to start otherwise) and the request boundary
applies them before the method runs; a method without a rule is open to no one. The rules:

- `Services("lookup")`: gjeld's own services named, proven by their workload certificate; no token opens it;
- `Institutions(certificate=True)`: an admitted institution's enterprise certificate (deliveries, read-back);
- `Institutions(certificate=True, scope=...)`: the certificate and a Maskinporten token of the same organisation
  with the scope (lookups), the token bound to the certificate if it says so (RFC 8705);
- `Institutions(scope=...)`: a Maskinporten token with the scope (consent APIs);
- `Subjects()`: a person's ID-porten token at the high level;
- `Operators()`: a token from the operator's own identity provider;
- `Either(a, b)`: whichever of two rules the call's credential fits (the statistics: the portal or a scope).

No credential: UNAUTHENTICATED. A credential of the wrong kind, a service not named, an institution the operator
has not admitted, a missing scope, or a token and certificate of different organisations: PERMISSION_DENIED.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from .callers import (
    SCOPE_EXTRACT,
    SCOPE_LOOKUP,
    SCOPE_STATISTICS,
    Caller,
    InstitutionCaller,
    OperatorCaller,
    ServiceCaller,
    SubjectCaller,
)
from .certificates import InstitutionPeer, Peer, ServicePeer
from .errors import PermissionDenied, Unauthenticated
from .tokens import BoundInstitution, TokenVerifier, Verified


@dataclass
class Presented:
    """What one call presents: the peer's certificate (recognised or not) and its bearer token, verified on demand."""

    peer: Peer | None
    certificate_presented: bool
    token: str | None
    verifier: TokenVerifier
    admitted: Callable[[str], bool]
    _verified: Verified | None = field(default=None, repr=False)

    def verified_token(self) -> Verified:
        if self.token is None:
            raise Unauthenticated("TOKEN_MISSING", "the call carries no bearer token")
        if self._verified is None:
            self._verified = self.verifier.verify(self.token)
        return self._verified

    def certificate(self) -> Peer:
        if self.peer is None:
            if self.certificate_presented:
                raise PermissionDenied("CERTIFICATE_NOT_RECOGNISED", "the client certificate names no one known here")
            raise Unauthenticated("CERTIFICATE_MISSING", "this method needs a client certificate (mutual TLS)")
        return self.peer

    def admit(self, organization_number: str) -> None:
        if not self.admitted(organization_number):
            raise PermissionDenied(
                "INSTITUTION_NOT_ADMITTED", "the operator has not admitted this institution to the registry"
            )


class Rule(Protocol):
    @property
    def credential(self) -> str:
        """Who may call, with which credential (for the README's table and error texts)."""
        ...

    def admit(self, call: Presented) -> Caller: ...


@dataclass(frozen=True)
class Services:
    names: tuple[str, ...]

    def __init__(self, *names: str) -> None:
        object.__setattr__(self, "names", names)

    @property
    def credential(self) -> str:
        return f"service {', '.join(self.names)}: workload certificate"

    def admit(self, call: Presented) -> Caller:
        peer = call.certificate()
        if isinstance(peer, ServicePeer) and peer.name in self.names:
            return ServiceCaller(peer.name)
        raise PermissionDenied("INTERNAL_ONLY", "only gjeld's own services may call this method")


@dataclass(frozen=True)
class Institutions:
    certificate: bool = False
    scope: str | None = None

    @property
    def credential(self) -> str:
        parts = ["enterprise certificate"] if self.certificate else []
        if self.scope:
            parts.append(f"Maskinporten token ({self.scope})")
        return "institution: " + " + ".join(parts)

    def admit(self, call: Presented) -> Caller:
        peer: InstitutionPeer | None = None
        if self.certificate:
            presented = call.certificate()
            if not isinstance(presented, InstitutionPeer):
                raise PermissionDenied("INSTITUTIONS_ONLY", "only institutions may call this method")
            peer = presented
        elif isinstance(call.peer, InstitutionPeer):
            peer = call.peer
        if self.scope is None and call.token is None:
            if peer is None:  # unreachable: a rule without a scope needs the certificate
                raise Unauthenticated("CERTIFICATE_MISSING", "this method needs a client certificate (mutual TLS)")
            call.admit(peer.organization_number)
            return InstitutionCaller(peer.organization_number)
        token = call.verified_token()
        if not isinstance(token, BoundInstitution):
            raise PermissionDenied("INSTITUTIONS_ONLY", "only institutions may call this method")
        caller = token.caller
        if self.scope is not None and self.scope not in caller.scopes:
            raise PermissionDenied(
                "MISSING_SCOPE", "the token lacks the scope this method needs", {"scope": self.scope}
            )
        if peer is not None and peer.organization_number != caller.organization_number:
            raise PermissionDenied("ORGANIZATION_MISMATCH", "the token and the certificate name other organisations")
        bound = token.certificate_thumbprint
        if bound is not None and (peer is None or peer.thumbprint != bound):
            raise PermissionDenied("CERTIFICATE_NOT_BOUND", "the token is bound to another certificate")
        call.admit(caller.organization_number)
        return caller


@dataclass(frozen=True)
class Subjects:
    credential: str = "person: ID-porten token (high)"

    def admit(self, call: Presented) -> Caller:
        token = call.verified_token()
        if not isinstance(token, SubjectCaller):
            raise PermissionDenied("SUBJECTS_ONLY", "only the data subject may call this method")
        return token


@dataclass(frozen=True)
class Operators:
    credential: str = "operator: staff token"

    def admit(self, call: Presented) -> Caller:
        token = call.verified_token()
        if not isinstance(token, OperatorCaller):
            raise PermissionDenied("OPERATORS_ONLY", "only the registry's operators may call this method")
        return token


@dataclass(frozen=True)
class Either:
    """One rule or the other: the first the call's credential fits (a public page's service, or an institution)."""

    first: Rule
    second: Rule

    @property
    def credential(self) -> str:
        return f"{self.first.credential}; or {self.second.credential}"

    def admit(self, call: Presented) -> Caller:
        try:
            return self.first.admit(call)
        except (PermissionDenied, Unauthenticated):
            return self.second.admit(call)


@dataclass(frozen=True)
class Nobody:
    """The rule of a method that has none: open to no one."""

    credential: str = "no one"

    def admit(self, call: Presented) -> Caller:
        raise PermissionDenied("METHOD_CLOSED", "this method is open to no one")


DELIVERING_INSTITUTIONS = Institutions(certificate=True)
LOOKING_UP_INSTITUTIONS = Institutions(certificate=True, scope=SCOPE_LOOKUP)
CONSENTING_INSTITUTIONS = Institutions(scope=SCOPE_LOOKUP)
EXTRACTING_INSTITUTIONS = Institutions(certificate=True, scope=SCOPE_EXTRACT)
# The debt statistics: any holder of the scope, and the person's web pages (their public page).
STATISTICS_READERS = Either(Services("portal"), Institutions(scope=SCOPE_STATISTICS))
SUBJECTS = Subjects()
OPERATORS = Operators()
