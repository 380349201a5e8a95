"""Who is calling: institutions, subjects and internal services, from signed bearer tokens.

Tokens are JWTs signed with Ed25519, shaped like the Norwegian identity providers':
- an institution's, like a Maskinporten token: `consumer.ID` "0192:<org number>" and
  space-separated `scope` (`gjeld:report`, `gjeld:lookup`);
- a subject's, like an ID-porten token: `pid`, the person's identity number;
- an internal service's: `gjeld_service`, the service's name (in production from its
  workload identity; in development issued by `gjeld token service`);
- an operator's (registry staff): `gjeld_operator`, the staff member's user name (in
  production from the operator's identity provider; in development `gjeld token operator`).

The request boundary verifies the token and puts the caller in a context variable that
use cases read through `require_*`, which raise PERMISSION_DENIED for a caller acting
outside its role.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from . import identity_numbers, organization_numbers
from .errors import PermissionDenied, Unauthenticated

SCOPE_REPORT = "gjeld:report"
SCOPE_LOOKUP = "gjeld:lookup"
ISO6523_NORWEGIAN_ORG = "0192"
ALGORITHM = "EdDSA"


@dataclass(frozen=True)
class InstitutionCaller:
    """A financial institution, by organisation number, with the scopes its token grants."""

    organization_number: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class SubjectCaller:
    """A person acting for themselves. The number is hidden from repr, so it cannot reach a log by accident."""

    identity_number: str = field(repr=False)


@dataclass(frozen=True)
class ServiceCaller:
    """One of gjeld's own services."""

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


def require_institution(scope: str) -> InstitutionCaller:
    """The calling institution, if the call has one and its token grants `scope`."""
    caller = current_caller()
    if not isinstance(caller, InstitutionCaller):
        raise PermissionDenied("INSTITUTIONS_ONLY", "only institutions may call this method")
    if scope not in caller.scopes:
        raise PermissionDenied("MISSING_SCOPE", "the token lacks the scope this method needs", {"scope": scope})
    return caller


def require_subject() -> SubjectCaller:
    caller = current_caller()
    if not isinstance(caller, SubjectCaller):
        raise PermissionDenied("SUBJECTS_ONLY", "only the data subject may call this method")
    return caller


def require_service(*names: str) -> ServiceCaller:
    caller = current_caller()
    if not isinstance(caller, ServiceCaller) or caller.name not in names:
        raise PermissionDenied(
            "INTERNAL_ONLY", "only gjeld's own services may call this method", {"allowed": ",".join(names)}
        )
    return caller


def require_operator() -> OperatorCaller:
    caller = current_caller()
    if not isinstance(caller, OperatorCaller):
        raise PermissionDenied("OPERATORS_ONLY", "only the registry's operators may call this method")
    return caller


def generate_signing_key() -> tuple[bytes, bytes]:
    """A new Ed25519 key pair as (private PEM, public PEM), for development and tests."""
    private = Ed25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


class TokenIssuer:
    """Issues tokens: the development stand-in for Maskinporten and ID-porten."""

    def __init__(self, private_key_pem: bytes, issuer: str, audience: str) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the signing key must be Ed25519")
        self._key, self.issuer, self.audience = key, issuer, audience

    def _sign(self, claims: dict[str, object], ttl_seconds: int) -> str:
        now = int(time.time())
        base = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode({**base, **claims}, self._key, algorithm=ALGORITHM)

    def institution(self, organization_number: str, scopes: Iterable[str], ttl_seconds: int = 3600) -> str:
        organization_numbers.validate(organization_number)
        return self._sign(
            {
                "client_id": f"gjeld-dev-{organization_number}",
                "consumer": {
                    "authority": "iso6523-actorid-upis",
                    "ID": f"{ISO6523_NORWEGIAN_ORG}:{organization_number}",
                },
                "scope": " ".join(sorted(scopes)),
            },
            ttl_seconds,
        )

    def subject(self, identity_number: str, ttl_seconds: int = 3600) -> str:
        identity_numbers.validate(identity_number)
        return self._sign({"pid": identity_number, "sub": str(uuid.uuid4()), "acr": "idporten-loa-high"}, ttl_seconds)

    def service(self, name: str, ttl_seconds: int = 30 * 24 * 3600) -> str:
        return self._sign({"gjeld_service": name, "sub": f"service:{name}"}, ttl_seconds)

    def operator(self, name: str, ttl_seconds: int = 8 * 3600) -> str:
        return self._sign({"gjeld_operator": name, "sub": f"operator:{name}"}, ttl_seconds)


class TokenVerifier:
    """Verifies bearer tokens against the issuer's public key and reads the caller out of them."""

    def __init__(self, public_key_pem: bytes, issuer: str, audience: str) -> None:
        key = serialization.load_pem_public_key(public_key_pem)
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("the verification key must be Ed25519")
        self._key, self.issuer, self.audience = key, issuer, audience

    def verify(self, token: str) -> Caller:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("TOKEN_EXPIRED", "the bearer token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("TOKEN_INVALID", "the bearer token is not valid here") from None
        if "gjeld_service" in claims:
            return ServiceCaller(str(claims["gjeld_service"]))
        if "gjeld_operator" in claims:
            return OperatorCaller(str(claims["gjeld_operator"]))
        if "pid" in claims:
            try:
                return SubjectCaller(identity_numbers.validate(str(claims["pid"])))
            except identity_numbers.InvalidIdentityNumber:
                raise Unauthenticated("TOKEN_INVALID", "the token's person identifier is not valid") from None
        consumer = claims.get("consumer")
        if isinstance(consumer, dict):
            authority, _, number = str(consumer.get("ID", "")).partition(":")
            try:
                if authority == ISO6523_NORWEGIAN_ORG:
                    return InstitutionCaller(
                        organization_numbers.validate(number), frozenset(str(claims.get("scope", "")).split())
                    )
            except organization_numbers.InvalidOrganizationNumber:
                pass
        raise Unauthenticated("TOKEN_INVALID", "the token names no institution, subject or service")


def bearer(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The bearer token from call metadata, if any."""
    for key, value in metadata or ():
        if key == "authorization":
            text = value.decode() if isinstance(value, bytes) else value
            scheme, _, token = text.partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    return None
