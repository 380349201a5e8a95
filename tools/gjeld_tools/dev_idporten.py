"""The development ID-porten: an OpenID Connect provider for Min gjeld, run by `make up` and the tests.

As ID-porten's test environment does, it lets you pick a synthetic person or type any synthetic identity number
(month + 80), never a real one. It speaks the protocol the real one does, so the portal's client is the production
client: discovery (`/.well-known/openid-configuration`), the authorization code flow with PKCE (S256 only), a
confidential client authenticated with client_secret_basic, ID tokens with `pid`, `acr` and the login's `nonce`,
access tokens for one resource each (RFC 8707) signed with the same keys the services trust, refresh tokens, and
end-session. Redirects go only to the client's registered addresses; a loopback address may use any port
(RFC 8252 §7.3), so a portal on port 0 in a test is served too.

Run: `python -m gjeld_tools.dev_idporten --listen 127.0.0.1:8090 [--port-file F]` (the data folder's keys).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import html
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from gjeld_shared import identity_numbers
from gjeld_shared.tokens import IDPORTEN_HIGH, Provider
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .dev_identity import ISSUERS, DevelopmentIdentityProviders
from .devstack import POPULATION_REGISTER_FILE

CODE_SECONDS = 60
ACCESS_TOKEN_SECONDS = 120  # as ID-porten's default
REFRESH_SECONDS = 7200
LOOPBACK = ("127.0.0.1", "::1")  # loopback by address only (RFC 8252 §8.3: not "localhost")


def _registered(uri: str, registered: list[str]) -> bool:
    if uri in registered:
        return True
    asked = urlsplit(uri)
    for entry in registered:
        known = urlsplit(entry)
        if (
            asked.scheme == known.scheme == "http"
            and asked.hostname == known.hostname
            and known.hostname in LOOPBACK
            and asked.path == known.path
            and not asked.query
            and not asked.fragment
        ):
            return True
    return False


@dataclass
class Grant:
    client_id: str
    person: str
    resources: list[str]
    nonce: str = ""
    redirect_uri: str = ""
    challenge: str = ""
    expires: float = field(default_factory=lambda: time.time() + CODE_SECONDS)


class DevelopmentIdPorten:
    def __init__(self, identity: DevelopmentIdentityProviders, base_url: str) -> None:
        self.identity = identity
        self.base_url = base_url.rstrip("/")
        self.issuer = ISSUERS[Provider.IDPORTEN]
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}

    def clients(self) -> dict[str, Any]:
        path = self.identity.clients_file
        return json.loads(path.read_text()) if path.exists() else {}

    def people(self) -> list[dict[str, Any]]:
        return list(json.loads(POPULATION_REGISTER_FILE.read_text())["people"])

    # --- endpoints --------------------------------------------------------------------------------------------

    async def configuration(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.base_url}/authorize",
                "token_endpoint": f"{self.base_url}/token",
                "jwks_uri": f"{self.base_url}/jwks",
                # On another origin, as ID-porten's is (login.idporten.no): the portal's CSP must allow it.
                "end_session_endpoint": self.base_url.replace("127.0.0.1", "localhost") + "/endsession",
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "acr_values_supported": [IDPORTEN_HIGH],
                "subject_types_supported": ["pairwise"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return Response(self.identity.jwks_file(Provider.IDPORTEN).read_text(), media_type="application/json")

    def _authorization(self, values: Any) -> tuple[dict[str, Any], str | None]:
        """The request's parameters and what is wrong with them (shown to the person: never redirected)."""
        asked = {
            key: values.get(key, "")
            for key in ("client_id", "redirect_uri", "state", "nonce", "code_challenge", "code_challenge_method")
        }
        asked["resource"] = values.getlist("resource")
        client = self.clients().get(asked["client_id"])
        if client is None:
            return asked, "unknown client"
        if not _registered(asked["redirect_uri"], client["redirect_uris"]):
            return asked, "redirect_uri is not registered for this client"
        if values.get("response_type", "code") != "code" or asked["code_challenge_method"] != "S256":
            return asked, "only the code flow with PKCE (S256) is served"
        if not asked["code_challenge"] or not asked["state"] or not asked["nonce"]:
            return asked, "code_challenge, state and nonce are required"
        if not set(asked["resource"]) <= set(client["resources"]):
            return asked, "a resource is not one this client may ask for"
        return asked, None

    async def authorize(self, request: Request) -> Response:
        asked, problem = self._authorization(request.query_params)
        if problem:
            return HTMLResponse(f"<p>{html.escape(problem)}</p>", status_code=400)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, values in asked.items()
            for v in (values if isinstance(values, list) else [values])
        )
        people = "".join(
            f'<li><button type="submit" name="pid" value="{html.escape(p["identity_number"])}">'
            f"{html.escape(p['name'])} ({html.escape(p['identity_number'])})</button></li>"
            for p in self.people()
        )
        page = f"""<!doctype html><html lang="nb"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>ID-porten (utvikling)</title></head>
<body><main><h1>ID-porten, testmiljø</h1>
<p>Velg en testperson, eller skriv et syntetisk fødselsnummer (måned + 80).</p>
<form method="post" action="/authorize">{hidden}<ul>{people}</ul></form>
<form method="post" action="/authorize">{hidden}
<label for="pid">Syntetisk fødselsnummer</label> <input id="pid" name="pid" inputmode="numeric" autocomplete="off">
<button type="submit">Logg inn</button></form></main></body></html>"""
        return HTMLResponse(page)

    async def log_in(self, request: Request) -> Response:
        form = await request.form()
        asked, problem = self._authorization(form)
        person = str(form.get("pid", "")).strip()
        try:
            identity_numbers.validate(person)
            synthetic = identity_numbers.is_synthetic(person)
        except identity_numbers.InvalidIdentityNumber:
            synthetic = False
        if problem or not synthetic:
            return HTMLResponse("<p>Only a valid synthetic identity number logs in here.</p>", status_code=400)
        code = secrets.token_urlsafe(32)
        self.codes[code] = Grant(
            asked["client_id"],
            person,
            asked["resource"],
            asked["nonce"],
            asked["redirect_uri"],
            asked["code_challenge"],
        )
        query = urlencode({"code": code, "state": asked["state"], "iss": self.issuer})
        return RedirectResponse(f"{asked['redirect_uri']}?{query}", status_code=303)

    def _client(self, request: Request) -> tuple[str, dict[str, Any]] | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return None
        client = self.clients().get(client_id)
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if client is None or not secrets.compare_digest(digest, client["secret_sha256"]):
            return None
        return client_id, client

    async def token(self, request: Request) -> Response:
        authenticated = self._client(request)
        if authenticated is None:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        client_id, client = authenticated
        form = await request.form()
        resource = str(form.get("resource", ""))
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            grant = self.codes.pop(str(form.get("code", "")), None)  # a code is used once
            verifier = str(form.get("code_verifier", ""))
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if (
                grant is None
                or grant.expires < time.time()
                or grant.client_id != client_id
                or grant.redirect_uri != form.get("redirect_uri")
                or not secrets.compare_digest(challenge, grant.challenge)
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
        elif grant_type == "refresh_token":
            grant = self.refresh_tokens.get(str(form.get("refresh_token", "")))
            if grant is None or grant.expires < time.time() or grant.client_id != client_id:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
        else:
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if resource not in client["resources"] or (grant.resources and resource not in grant.resources):
            return JSONResponse({"error": "invalid_target"}, status_code=400)
        subject = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{client_id}/{grant.person}"))  # pairwise, stable
        access = self.identity.sign(
            Provider.IDPORTEN,
            {"aud": resource, "pid": grant.person, "sub": subject, "acr": IDPORTEN_HIGH, "client_id": client_id},
            ACCESS_TOKEN_SECONDS,
        )
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS}
        if grant_type == "authorization_code":
            answer["id_token"] = self.identity.sign(
                Provider.IDPORTEN,
                {"aud": client_id, "pid": grant.person, "sub": subject, "acr": IDPORTEN_HIGH, "nonce": grant.nonce},
                ACCESS_TOKEN_SECONDS,
            )
            refresh = secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = Grant(
                client_id, grant.person, grant.resources, expires=time.time() + REFRESH_SECONDS
            )
            answer["refresh_token"] = refresh
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def end_session(self, request: Request) -> Response:
        target = request.query_params.get("post_logout_redirect_uri", "")
        client = self.clients().get(request.query_params.get("client_id", ""))
        if client is not None and target and _registered(target, client["post_logout_redirect_uris"]):
            return RedirectResponse(target, status_code=303)
        return HTMLResponse("<p>Logget ut.</p>")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.configuration),
                Route("/jwks", self.jwks),
                Route("/authorize", self.authorize),
                Route("/authorize", self.log_in, methods=["POST"]),
                Route("/token", self.token, methods=["POST"]),
                Route("/endsession", self.end_session),
            ]
        )


def main() -> None:
    from gjeld_portal.bootstrap import HttpServer

    from .cli import data_folder

    parser = argparse.ArgumentParser(prog="dev-idporten", description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:8090")
    parser.add_argument("--port-file", type=Path)
    args = parser.parse_args()

    host = args.listen.rsplit(":", 1)[0].strip("[]")
    if host not in LOOPBACK:  # it logs anyone in as anyone: never reachable from another machine
        parser.error(f"the development ID-porten listens on a loopback address only, not {host}")

    async def serve() -> None:
        server = HttpServer(args.listen)
        provider = DevelopmentIdPorten(data_folder().identity, f"http://{host}:{server.port}")
        await server.run(provider.app(), args.port_file)

    asyncio.run(serve())


if __name__ == "__main__":
    main()
