"""Bearer tokens, verified the way Maskinporten and ID-porten access tokens are verified.

Each identity provider has its own issuer (`iss`) and publishes its signing keys as a JWKS; a token names its key by
`kid`, so a provider can publish a new key before signing with it and rotate without a flag day. A token is taken
only from a trusted issuer, signed by a published key with an asymmetric algorithm (never `none`, never a shared
secret), for this API (`aud`), within its lifetime (`exp`, `iat` not in the future) give or take a small clock
leeway, and with a lifetime no longer than the maximum. What it proves depends on who issued it:

- Maskinporten: an institution, `consumer.ID` "0192:<organisation number>", with space-separated `scope`, and
  optionally bound to the institution's certificate (RFC 8705 `cnf.x5t#S256`);
- ID-porten: a person, `pid` (the identity number), only at the high level of assurance (`acr`);
- the operator's own provider: a member of staff, `sub`, with the scope `gjeld:operate`.

The JWKS are files (in Kubernetes a mounted ConfigMap, kept up to date from the providers' published keys); a file
is read again when it changes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import jwt

from . import identity_numbers, organization_numbers
from .callers import SCOPE_OPERATE, InstitutionCaller, OperatorCaller, SubjectCaller
from .errors import PermissionDenied, Unauthenticated

ISO6523_NORWEGIAN_ORG = "0192"
IDPORTEN_HIGH = "idporten-loa-high"
# Asymmetric algorithms only: `none` and HMAC (a "public key" used as a shared secret) are never accepted.
ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})


class Provider(StrEnum):
    MASKINPORTEN = "maskinporten"
    IDPORTEN = "idporten"
    OPERATOR = "operator"


@dataclass(frozen=True)
class BoundInstitution:
    """An institution's token: the caller, and the thumbprint of the certificate it is bound to, if any."""

    caller: InstitutionCaller
    certificate_thumbprint: str | None = None


Verified = BoundInstitution | SubjectCaller | OperatorCaller


class KeySet:
    """A provider's published keys (a JWKS file), by `kid`; read again when the file changes."""

    RECHECK_SECONDS = 5.0

    def __init__(self, path: Path) -> None:
        self._path = path
        self._mtime = -1.0
        self._checked = 0.0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._reload()

    def _reload(self) -> None:
        self._checked = time.monotonic()
        mtime = self._path.stat().st_mtime
        if mtime == self._mtime:
            return
        document = json.loads(self._path.read_text())
        keys = {}
        for entry in document.get("keys", ()):
            if "kid" in entry and entry.get("alg") in ALGORITHMS:
                keys[str(entry["kid"])] = jwt.PyJWK(entry, entry["alg"])
        self._keys, self._mtime = keys, mtime

    def get(self, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys or time.monotonic() - self._checked > self.RECHECK_SECONDS:
            self._reload()
        return self._keys.get(kid)


@dataclass(frozen=True)
class IdentityProvider:
    kind: Provider
    issuer: str
    keys: KeySet


def _invalid(message: str) -> Unauthenticated:
    return Unauthenticated("TOKEN_INVALID", message)


class TokenVerifier:
    """Verifies bearer tokens for one API (one audience) from the trusted identity providers."""

    def __init__(
        self,
        providers: list[IdentityProvider],
        audience: str,
        *,
        max_lifetime_seconds: int = 3600,
        leeway_seconds: int = 10,
        required_acr: str = IDPORTEN_HIGH,
    ) -> None:
        self._providers: Mapping[str, IdentityProvider] = {p.issuer: p for p in providers}
        self.audience = audience
        self._max_lifetime = max_lifetime_seconds
        self._leeway = leeway_seconds
        self._acr = required_acr

    def verify(self, token: str) -> Verified:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise _invalid("the bearer token is not a JWT") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ALGORITHMS or not isinstance(kid, str):
            raise _invalid("the bearer token's algorithm or key id is not accepted")
        provider = self._providers.get(str(unverified.get("iss", "")))
        if provider is None:
            raise _invalid("the bearer token's issuer is not trusted here")
        key = provider.keys.get(kid)
        if key is None or key.algorithm_name != algorithm:
            raise _invalid("the bearer token is signed with a key its issuer does not publish")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=provider.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("TOKEN_EXPIRED", "the bearer token has expired") from None
        except jwt.InvalidTokenError:
            raise _invalid("the bearer token is not valid here") from None
        if int(claims["exp"]) - int(claims["iat"]) > self._max_lifetime:
            raise _invalid("the bearer token lives longer than this API accepts")
        return self._caller(provider.kind, claims)

    def _caller(self, kind: Provider, claims: dict[str, Any]) -> Verified:
        if kind is Provider.IDPORTEN:
            if claims.get("acr") != self._acr:
                raise Unauthenticated("ACR_TOO_LOW", "log in at the high level of assurance", {"acr": self._acr})
            try:
                return SubjectCaller(identity_numbers.validate(str(claims.get("pid", ""))))
            except identity_numbers.InvalidIdentityNumber:
                raise _invalid("the token's person identifier is not valid") from None
        if kind is Provider.OPERATOR:
            if not claims.get("sub"):
                raise _invalid("the token names no member of staff")
            if SCOPE_OPERATE not in str(claims.get("scope", "")).split():
                raise PermissionDenied(
                    "MISSING_SCOPE", "the token lacks the scope this method needs", {"scope": SCOPE_OPERATE}
                )
            return OperatorCaller(str(claims["sub"]))
        consumer = claims.get("consumer")
        authority, _, number = str(consumer.get("ID", "") if isinstance(consumer, dict) else "").partition(":")
        try:
            if authority != ISO6523_NORWEGIAN_ORG:
                raise organization_numbers.InvalidOrganizationNumber("not a Norwegian organisation")
            caller = InstitutionCaller(
                organization_numbers.validate(number), frozenset(str(claims.get("scope", "")).split())
            )
        except organization_numbers.InvalidOrganizationNumber:
            raise _invalid("the token names no Norwegian organisation") from None
        confirmation = claims.get("cnf")
        bound = confirmation.get("x5t#S256") if isinstance(confirmation, dict) else None
        return BoundInstitution(caller, str(bound) if bound else None)
