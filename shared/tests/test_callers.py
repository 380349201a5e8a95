"""Tokens and callers: who may call, read from signed bearer tokens."""

from __future__ import annotations

import pytest
from gjeld_shared import callers
from gjeld_shared.callers import (
    InstitutionCaller,
    ServiceCaller,
    SubjectCaller,
    TokenIssuer,
    TokenVerifier,
    generate_signing_key,
)
from gjeld_shared.errors import PermissionDenied, Unauthenticated

PRIVATE, PUBLIC = generate_signing_key()
ISSUER = TokenIssuer(PRIVATE, "test-issuer", "gjeld")
VERIFIER = TokenVerifier(PUBLIC, "test-issuer", "gjeld")


def test_each_kind_of_token_names_its_caller() -> None:
    assert VERIFIER.verify(ISSUER.institution("999888777", ["gjeld:lookup"])) == InstitutionCaller(
        "999888777", frozenset({"gjeld:lookup"})
    )
    assert VERIFIER.verify(ISSUER.subject("14842249091")) == SubjectCaller("14842249091")
    assert VERIFIER.verify(ISSUER.service("lookup")) == ServiceCaller("lookup")


@pytest.mark.parametrize(
    "token, expected",
    [
        (ISSUER.institution("999888777", [], ttl_seconds=-60), "TOKEN_EXPIRED"),
        (TokenIssuer(generate_signing_key()[0], "test-issuer", "gjeld").service("lookup"), "TOKEN_INVALID"),
        (TokenIssuer(PRIVATE, "someone-else", "gjeld").service("lookup"), "TOKEN_INVALID"),
        (TokenIssuer(PRIVATE, "test-issuer", "other-audience").service("lookup"), "TOKEN_INVALID"),
        ("garbage", "TOKEN_INVALID"),
    ],
)
def test_bad_tokens_are_unauthenticated(token: str, expected: str) -> None:
    with pytest.raises(Unauthenticated) as refused:
        VERIFIER.verify(token)
    assert refused.value.reason == expected


def test_roles_are_enforced() -> None:
    token = callers.set_caller(SubjectCaller("14842249091"))
    try:
        assert callers.require_subject().identity_number == "14842249091"
        with pytest.raises(PermissionDenied):
            callers.require_institution("gjeld:lookup")
        with pytest.raises(PermissionDenied):
            callers.require_service("lookup")
    finally:
        callers.reset_caller(token)
    with pytest.raises(Unauthenticated):
        callers.current_caller()


def test_a_subject_caller_never_shows_its_number() -> None:
    assert "14842249091" not in repr(SubjectCaller("14842249091"))
