"""The ID token checks of Min gjeld's login, each against a provider that answers with a token wrong in one way.

The provider is a fake over httpx's transport (an outside system): it publishes the development ID-porten's keys and
answers the token request with the ID token a test hands it. A claim check removed lets its token through here
(tried once with the acr check); a token not signed by a published key fails on its key id before its algorithm."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from gjeld_portal.oidc import LoginFailed, LoginStart, OpenIdClient
from gjeld_portal.settings import PortalSettings
from gjeld_shared.tokens import IDPORTEN_HIGH, Provider
from gjeld_tools import devstack
from gjeld_tools.dev_identity import ISSUERS
from gjeld_tools.testing import PERSON

ISSUER = ISSUERS[Provider.IDPORTEN]
CLIENT = "gjeld-portal"
PROVIDER = "https://idporten.test"


def provider(folder: devstack.DataFolder, id_token: Callable[[], str]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            endpoints = {"authorization_endpoint": "/authorize", "token_endpoint": "/token", "jwks_uri": "/jwks"}
            return httpx.Response(200, json={"issuer": ISSUER, **{k: PROVIDER + v for k, v in endpoints.items()}})
        if request.url.path == "/jwks":
            return httpx.Response(200, json=json.loads(folder.identity.jwks_file(Provider.IDPORTEN).read_text()))
        if request.url.path == "/token":
            return httpx.Response(200, json={"access_token": "a", "expires_in": 120, "id_token": id_token()})
        return httpx.Response(404)

    return httpx.MockTransport(answer)


def settings(tmp_path: Path) -> PortalSettings:
    secret = tmp_path / "secret"
    secret.write_text("s")
    return PortalSettings(
        lookup_audience="l",
        consent_audience="c",
        notify_audience="n",
        ingest_audience="i",
        tls_certificate_file=tmp_path / "c",
        tls_key_file=tmp_path / "k",
        workload_ca_file=tmp_path / "ca",
        oidc_issuer=ISSUER,
        oidc_discovery_url=f"{PROVIDER}/.well-known/openid-configuration",
        oidc_client_id=CLIENT,
        oidc_client_secret_file=secret,
        institutions_file=tmp_path / "i",
        database_url="postgresql+asyncpg://nobody@/unused",  # the OpenID client alone: no sessions here
        session_keys_file=tmp_path / "keys",
    )


START = LoginStart("state", "the-nonce", "verifier")


def good(**changed: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"aud": CLIENT, "pid": PERSON, "sub": "s", "acr": IDPORTEN_HIGH, "nonce": START.nonce, "iat": now}
    return {**claims, "exp": now + 120, **changed}


WRONG: dict[str, Callable[[devstack.DataFolder], str]] = {
    "another nonce (another login's token)": lambda f: f.identity.sign(Provider.IDPORTEN, good(nonce="other")),
    "for another client": lambda f: f.identity.sign(Provider.IDPORTEN, good(aud="someone-else")),
    "from another issuer": lambda f: f.identity.sign(Provider.IDPORTEN, good(iss="https://evil.example")),
    "a lower level of assurance": lambda f: f.identity.sign(Provider.IDPORTEN, good(acr="idporten-loa-substantial")),
    "expired": lambda f: f.identity.sign(Provider.IDPORTEN, good(exp=int(time.time()) - 600)),
    "no person": lambda f: f.identity.sign(Provider.IDPORTEN, {k: v for k, v in good().items() if k != "pid"}),
    "not an identity number": lambda f: f.identity.sign(Provider.IDPORTEN, good(pid="12345678901")),
    "signed with a shared secret (HS256)": lambda f: jwt.encode(
        {**good(), "iss": ISSUER}, "a-shared-secret-of-at-least-32-bytes!", algorithm="HS256", headers={"kid": "x"}
    ),
    "not signed (alg none)": lambda f: jwt.encode({**good(), "iss": ISSUER}, None, algorithm="none"),
}


@pytest.mark.parametrize("wrong", sorted(WRONG))
async def test_an_id_token_wrong_in_any_way_fails_the_login(
    wrong: str, data_folder: devstack.DataFolder, tmp_path: Path
) -> None:
    transport = provider(data_folder, lambda: WRONG[wrong](data_folder))
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(LoginFailed):
            await OpenIdClient(settings(tmp_path), http).finish(START, "code", "http://portal/innlogget", "l")


async def test_the_right_id_token_logs_the_person_in(data_folder: devstack.DataFolder, tmp_path: Path) -> None:
    transport = provider(data_folder, lambda: data_folder.identity.sign(Provider.IDPORTEN, good()))
    async with httpx.AsyncClient(transport=transport) as http:
        login = await OpenIdClient(settings(tmp_path), http).finish(START, "code", "http://portal/innlogget", "l")
    assert login.person == PERSON and login.access.value == "a"


async def test_a_provider_that_answers_nonsense_fails_the_login_not_the_page(tmp_path: Path) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    async with httpx.AsyncClient(transport=transport) as http:
        with pytest.raises(LoginFailed):
            await OpenIdClient(settings(tmp_path), http).authorization_url(START, "http://portal/innlogget", ["l"])
