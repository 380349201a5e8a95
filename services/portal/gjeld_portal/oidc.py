"""Logging a person in with ID-porten: OpenID Connect, authorization code flow with PKCE (RFC 7636).

The portal is a confidential client (client_secret_basic). A login begins with a fresh `state` (tying the answer to
this browser's session), `nonce` (tying the ID token to this login) and PKCE verifier; it ends when the code is
exchanged and the ID token verified: from the expected issuer, for this client, signed by a published key, within
its lifetime, with our nonce, at the high level of assurance, naming the person (`pid`).

Each access token is for one service (RFC 8707 resource indicators): the token lookup receives opens nothing at
consent or notify. Tokens are short-lived; the refresh token gets a new one per service when needed.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
from gjeld_shared import identity_numbers

from .settings import PortalSettings

# Asymmetric algorithms only, as the services verify the access tokens.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]


class LoginFailed(Exception):
    """The identity provider's answer cannot be trusted or used; the person is asked to log in again."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class LoginStart:
    """What the browser's session remembers between sending the person to ID-porten and their return."""

    state: str
    nonce: str
    verifier: str

    @classmethod
    def new(cls) -> LoginStart:
        return cls(secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64))

    @property
    def challenge(self) -> str:
        return _b64(hashlib.sha256(self.verifier.encode()).digest())


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # time.time()


@dataclass(frozen=True)
class Login:
    """A verified login: the person, their ID token (for logout) and refresh token, and the first access token."""

    person: str
    refresh_token: str
    access: AccessToken
    resource: str


class OpenIdClient:
    def __init__(self, settings: PortalSettings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http
        self._configuration: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None
        self._secret = settings.oidc_client_secret_file.read_text().strip()

    async def configuration(self) -> dict[str, Any]:
        """The provider's published configuration, read once; its issuer must be the one configured."""
        if self._configuration is None:
            document = await self._json("get", self._settings.discovery_url, "the provider's configuration")
            if document.get("issuer") != self._settings.oidc_issuer:
                raise LoginFailed("the provider's configuration names another issuer")
            self._configuration = document
        return self._configuration

    def origins(self) -> set[str]:
        """Where the browser is sent to the provider (to log in, to log out), once its configuration is read."""
        endpoints = ("authorization_endpoint", "end_session_endpoint")
        found = {(self._configuration or {}).get(name) for name in endpoints} | {self._settings.discovery_url}
        return {origin(url) for url in found if url}

    async def _json(self, method: str, url: str, what: str, **options: Any) -> dict[str, Any]:
        """A JSON object from the provider; anything else (unreachable, refused, not JSON) is a failed login."""
        try:
            reply = await self._http.request(method, url, **options)
            document = reply.json() if reply.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as error:
            raise LoginFailed(f"{what} did not answer: {type(error).__name__}") from None
        if not isinstance(document, dict):
            raise LoginFailed(f"{what} answered {reply.status_code}")
        return document

    async def authorization_url(self, start: LoginStart, redirect_uri: str, resources: list[str]) -> str:
        configuration = await self.configuration()
        query = [
            ("response_type", "code"),
            ("client_id", self._settings.oidc_client_id),
            ("redirect_uri", redirect_uri),
            ("scope", "openid profile"),
            ("state", start.state),
            ("nonce", start.nonce),
            ("code_challenge", start.challenge),
            ("code_challenge_method", "S256"),
            ("acr_values", self._settings.oidc_acr),
            ("ui_locales", "nb"),
            *(("resource", resource) for resource in resources),
        ]
        return f"{configuration['authorization_endpoint']}?{urlencode(query)}"

    async def _token(self, form: dict[str, str]) -> dict[str, Any]:
        configuration = await self.configuration()
        auth = (self._settings.oidc_client_id, self._secret)
        return await self._json("post", configuration["token_endpoint"], "the token endpoint", data=form, auth=auth)

    async def finish(self, start: LoginStart, code: str, redirect_uri: str, resource: str) -> Login:
        """Exchange the code (with the PKCE verifier) and verify the ID token."""
        answer = await self._token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": start.verifier,
                "resource": resource,
            }
        )
        claims = await self._verify_id_token(str(answer.get("id_token", "")), start.nonce)
        return Login(
            person=claims["pid"],
            refresh_token=str(answer.get("refresh_token", "")),
            access=_access(answer),
            resource=resource,
        )

    async def refresh(self, refresh_token: str, resource: str) -> tuple[AccessToken, str]:
        """A new access token for `resource`, and the refresh token to use next (rotated, or the same)."""
        answer = await self._token(
            {"grant_type": "refresh_token", "refresh_token": refresh_token, "resource": resource}
        )
        return _access(answer), str(answer.get("refresh_token") or refresh_token)

    async def logout_url(self, post_logout_redirect_uri: str) -> str | None:
        """Where to end the person's session at the provider. It names this client, not the ID token: a URL stays in
        the browser's history, and an ID token there would hold the person's identity number (`pid`)."""
        endpoint = (await self.configuration()).get("end_session_endpoint")
        if not endpoint:
            return None
        query = {"client_id": self._settings.oidc_client_id, "post_logout_redirect_uri": post_logout_redirect_uri}
        return f"{endpoint}?{urlencode(query)}"

    async def _key(self, kid: str) -> jwt.PyJWK:
        for attempt in range(2):
            if self._keys is None or attempt:
                published = await self._json("get", (await self.configuration())["jwks_uri"], "the provider's keys")
                try:
                    self._keys = jwt.PyJWKSet.from_dict(published)
                except jwt.PyJWTError as error:
                    raise LoginFailed("the provider publishes no usable keys") from error
            for key in self._keys.keys:
                if key.key_id == kid:
                    return key
        raise LoginFailed("the ID token is signed by a key the provider does not publish")

    async def _verify_id_token(self, token: str, nonce: str) -> dict[str, Any]:
        try:
            kid = str(jwt.get_unverified_header(token).get("kid", ""))
            key = await self._key(kid)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._settings.oidc_client_id,
                issuer=self._settings.oidc_issuer,
                options={"require": ["exp", "iat", "iss", "aud", "nonce", "pid"]},
                leeway=10,
            )
        except jwt.InvalidTokenError as error:
            raise LoginFailed(f"the ID token is not valid: {type(error).__name__}") from error
        if not secrets.compare_digest(str(claims["nonce"]), nonce):
            raise LoginFailed("the ID token is for another login")
        if claims.get("acr") != self._settings.oidc_acr:
            raise LoginFailed("the login was not at the level of assurance required")
        try:
            identity_numbers.validate(str(claims["pid"]))
        except identity_numbers.InvalidIdentityNumber as error:
            raise LoginFailed("the ID token names no valid person") from error
        return claims


def _access(answer: dict[str, Any]) -> AccessToken:
    if not answer.get("access_token"):
        raise LoginFailed("the token endpoint returned no access token")
    try:
        lifetime = float(answer.get("expires_in", 60))
    except (TypeError, ValueError):
        raise LoginFailed("the token endpoint gave no usable expires_in") from None
    return AccessToken(str(answer["access_token"]), time.time() + lifetime)


def origin(url: str) -> str:
    """The scheme, host and port of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
