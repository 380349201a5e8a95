"""Tokens, verified the way Maskinporten and ID-porten tokens are: published keys by kid, issuer per provider,
audience per API, lifetime, leeway, and ID-porten's level of assurance."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gjeld_shared import callers
from gjeld_shared.callers import InstitutionCaller, OperatorCaller, SubjectCaller
from gjeld_shared.errors import PermissionDenied, Unauthenticated
from gjeld_shared.tokens import BoundInstitution, IdentityProvider, KeySet, Provider, TokenVerifier
from gjeld_tools.dev_identity import ISSUERS, DevelopmentIdentityProviders

PERSON = "14842249091"
AUD = "https://gjeld.dev/lookup"


@pytest.fixture(scope="module")
def providers(tmp_path_factory: pytest.TempPathFactory) -> DevelopmentIdentityProviders:
    made = DevelopmentIdentityProviders(tmp_path_factory.mktemp("idp"))
    made.ensure()
    return made


def verifier_for(providers: DevelopmentIdentityProviders, **options: int) -> TokenVerifier:
    trusted = [IdentityProvider(p, ISSUERS[p], KeySet(providers.jwks_file(p))) for p in Provider]
    return TokenVerifier(trusted, AUD, **options)


def test_each_provider_names_its_kind_of_caller(providers: DevelopmentIdentityProviders) -> None:
    verifier = verifier_for(providers)
    assert verifier.verify(providers.institution("999888777", ["gjeld:lookup"], AUD)) == BoundInstitution(
        InstitutionCaller("999888777", frozenset({"gjeld:lookup"}))
    )
    assert verifier.verify(providers.institution("999888777", [], AUD, bound_to="abc")) == BoundInstitution(
        InstitutionCaller("999888777"), "abc"
    )
    assert verifier.verify(providers.subject(PERSON, AUD)) == SubjectCaller(PERSON)
    assert verifier.verify(providers.operator("ops-1", AUD)) == OperatorCaller("ops-1")
    # Staff whose token lacks gjeld's scope are not the registry's operators.
    with pytest.raises(PermissionDenied):
        verifier.verify(providers.sign(Provider.OPERATOR, {"aud": AUD, "sub": "someone"}))


def test_the_issuer_decides_the_kind_of_caller(providers: DevelopmentIdentityProviders) -> None:
    # An operator's provider cannot mint a person: a `pid` claim in its token is ignored.
    claims = {"aud": AUD, "sub": "ops-1", "pid": PERSON, "acr": "idporten-loa-high", "scope": "gjeld:operate"}
    assert verifier_for(providers).verify(providers.sign(Provider.OPERATOR, claims)) == OperatorCaller("ops-1")


def _signed(key: object, claims: dict[str, object], kid: str, algorithm: str = "RS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})  # type: ignore[arg-type]


def _standard(issuer: str = ISSUERS[Provider.IDPORTEN], **changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": issuer,
        "aud": AUD,
        "iat": now,
        "exp": now + 120,
        "pid": PERSON,
        "acr": "idporten-loa-high",
    }
    claims.update(changes)
    return claims


def public_pem(jwk: dict[str, object]) -> bytes:
    key = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(jwk))
    assert isinstance(key, rsa.RSAPublicKey)
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def _hmac_signed(claims: dict[str, object], secret: bytes, kid: str) -> str:
    """HS256 by hand (PyJWT itself refuses to use a public key as an HMAC secret)."""

    def part(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signing_input = part(json.dumps({"alg": "HS256", "kid": kid}).encode()) + b"." + part(json.dumps(claims).encode())
    return (signing_input + b"." + part(hmac.new(secret, signing_input, hashlib.sha256).digest())).decode()


def _published_kid(providers: DevelopmentIdentityProviders, provider: Provider) -> str:
    return str(json.loads(providers.jwks_file(provider).read_text())["keys"][-1]["kid"])


def test_bad_tokens_are_unauthenticated(providers: DevelopmentIdentityProviders) -> None:
    verifier = verifier_for(providers, leeway_seconds=10, max_lifetime_seconds=3600)
    kid = _published_kid(providers, Provider.IDPORTEN)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    unsigned = jwt.encode(_standard(), None, algorithm="none", headers={"kid": kid})  # type: ignore[arg-type]
    public_jwk = json.loads(providers.jwks_file(Provider.IDPORTEN).read_text())["keys"][-1]
    cases = {
        "alg none": unsigned,
        "signed with another key": _signed(stranger, _standard(), kid),
        "an unpublished kid": _signed(stranger, _standard(), "not-published"),
        # Algorithm confusion: the published public key used as an HMAC secret.
        "HS256 with the public key": _hmac_signed(_standard(), public_pem(public_jwk), kid),
        "expired": providers.subject(PERSON, AUD, ttl_seconds=-60),
        "issued in the future": providers.sign(Provider.IDPORTEN, {**_standard(), "iat": now + 600}),
        "another audience": providers.subject(PERSON, "https://gjeld.dev/ingest"),
        "another issuer": _signed(stranger, _standard(issuer="https://idporten.example"), kid),
        "lives too long": providers.subject(PERSON, AUD, ttl_seconds=7200),
        "low level of assurance": providers.subject(PERSON, AUD, acr="idporten-loa-substantial"),
        "not a JWT": "garbage",
    }
    for case, token in cases.items():
        with pytest.raises(Unauthenticated):
            verifier.verify(token)
        print(f"refused: {case}")


def test_a_small_clock_skew_is_tolerated(providers: DevelopmentIdentityProviders) -> None:
    now = int(time.time())
    token = providers.sign(Provider.IDPORTEN, {**_standard(), "iat": now + 5, "exp": now + 125})
    assert verifier_for(providers, leeway_seconds=10).verify(token) == SubjectCaller(PERSON)


def test_keys_rotate_without_a_flag_day(tmp_path: Path) -> None:
    providers = DevelopmentIdentityProviders(tmp_path)
    providers.ensure()
    verifier = verifier_for(providers)
    before = providers.subject(PERSON, AUD)
    providers.rotate(Provider.IDPORTEN)  # a new key is published and used; the old one stays published
    after = providers.subject(PERSON, AUD)
    assert jwt.get_unverified_header(before)["kid"] != jwt.get_unverified_header(after)["kid"]
    assert verifier.verify(before) == verifier.verify(after) == SubjectCaller(PERSON)
    # The provider stops publishing the old key: tokens signed with it are refused once the file is read again.
    jwks = providers.jwks_file(Provider.IDPORTEN)
    document = json.loads(jwks.read_text())
    document["keys"] = document["keys"][1:]
    jwks.write_text(json.dumps(document))
    os.utime(jwks, (time.time() + 1, time.time() + 1))
    KeySet.RECHECK_SECONDS, saved = 0.0, KeySet.RECHECK_SECONDS
    try:
        with pytest.raises(Unauthenticated):
            verifier.verify(before)
        assert verifier.verify(after) == SubjectCaller(PERSON)
    finally:
        KeySet.RECHECK_SECONDS = saved


def test_roles_are_enforced() -> None:
    token = callers.set_caller(SubjectCaller(PERSON))
    try:
        assert callers.require_subject().identity_number == PERSON
        with pytest.raises(PermissionDenied):
            callers.require_institution()
        with pytest.raises(PermissionDenied):
            callers.require_operator()
    finally:
        callers.reset_caller(token)
    with pytest.raises(Unauthenticated):
        callers.current_caller()


def test_a_subject_caller_never_shows_its_number() -> None:
    assert PERSON not in repr(SubjectCaller(PERSON))
