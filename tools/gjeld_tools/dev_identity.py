"""The development identity providers: stand-ins for Maskinporten, ID-porten and the operator's own provider.

Each has an issuer, RSA signing keys with key ids, and publishes the public keys as a JWKS file that the services
read (`.data/secrets/idp/<provider>/jwks.json`). Tokens are shaped like the real providers' access tokens:
Maskinporten's `consumer` and `scope` (optionally bound to a certificate, RFC 8705), ID-porten's `pid` and `acr`.
`rotate()` publishes a new key and signs with it from then on, the old one staying published: rotation without a
flag day.
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from gjeld_shared import identity_numbers, organization_numbers
from gjeld_shared.callers import SCOPE_OPERATE
from gjeld_shared.tokens import IDPORTEN_HIGH, ISO6523_NORWEGIAN_ORG, Provider

from .dev_pki import write_secret


@functools.lru_cache(maxsize=16)
def _private_key(pem: str) -> Any:
    """A signing key, loaded once: loading checks the RSA key, which costs far more than a signature."""
    return serialization.load_pem_private_key(pem.encode(), password=None)


ISSUERS = {
    Provider.MASKINPORTEN: "https://maskinporten.gjeld.dev/",
    Provider.IDPORTEN: "https://idporten.gjeld.dev",
    Provider.OPERATOR: "https://operator.gjeld.dev",
}
ALGORITHM = "RS256"
PORTAL_CLIENT = "gjeld-portal"


def audience(service: str) -> str:
    """The audience of a service's API in development tokens."""
    return f"https://gjeld.dev/{service}"


class DevelopmentIdentityProviders:
    def __init__(self, root: Path) -> None:
        self.root = root

    def jwks_file(self, provider: Provider) -> Path:
        return self.root / provider.value / "jwks.json"

    def _keys_file(self, provider: Provider) -> Path:
        return self.root / provider.value / "signing-keys.json"

    @property
    def clients_file(self) -> Path:
        """The development ID-porten's registered clients (dev_idporten.py)."""
        return self.root / Provider.IDPORTEN.value / "clients.json"

    def register_portal(self, resources: list[str], redirect_uri: str) -> Path:
        """Register Min gjeld as a client of the development ID-porten, for the services' audiences (`resources`)
        and its login `redirect_uri`; its secret is made once, in a file of its own. Returns the secret's file."""
        secret_file = self.root / Provider.IDPORTEN.value / f"{PORTAL_CLIENT}.secret"
        if not secret_file.exists():
            write_secret(secret_file, secrets.token_urlsafe(32).encode())
        secret = secret_file.read_text().strip()
        client = {
            "secret_sha256": hashlib.sha256(secret.encode()).hexdigest(),
            "redirect_uris": [redirect_uri],
            "post_logout_redirect_uris": [redirect_uri.rsplit("/", 1)[0] + "/utlogget"],
            "resources": resources,
        }
        write_secret(self.clients_file, json.dumps({PORTAL_CLIENT: client}).encode())
        return secret_file

    def ensure(self) -> None:
        """A signing key for each provider, once."""
        for provider in Provider:
            if not self._keys_file(provider).exists():
                self.rotate(provider)

    def rotate(self, provider: Provider) -> str:
        """Publish a new signing key and sign with it from now on; returns its key id."""
        path = self._keys_file(provider)
        path.parent.mkdir(parents=True, exist_ok=True)
        keys = json.loads(path.read_text())["keys"] if path.exists() else []
        kid = uuid.uuid4().hex[:16]
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        keys.append({"kid": kid, "pem": pem})
        write_secret(path, json.dumps({"keys": keys}).encode())
        published = []
        for entry in keys:
            private = serialization.load_pem_private_key(entry["pem"].encode(), password=None)
            assert isinstance(private, rsa.RSAPrivateKey)
            jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
            published.append({**jwk, "kid": entry["kid"], "alg": ALGORITHM, "use": "sig"})
        self.jwks_file(provider).write_text(json.dumps({"keys": published}, indent=2))
        return kid

    def sign(self, provider: Provider, claims: dict[str, Any], ttl_seconds: int = 300) -> str:
        """A token from `provider` with `claims` over its standard ones, signed with its newest key."""
        newest = json.loads(self._keys_file(provider).read_text())["keys"][-1]
        now = int(time.time())
        base = {"iss": ISSUERS[provider], "iat": now, "exp": now + ttl_seconds, "jti": str(uuid.uuid4())}
        key = _private_key(newest["pem"])
        return jwt.encode({**base, **claims}, key, algorithm=ALGORITHM, headers={"kid": newest["kid"]})

    def institution(
        self,
        organization_number: str,
        scopes: Iterable[str],
        aud: str,
        ttl_seconds: int = 300,
        bound_to: str | None = None,
    ) -> str:
        """A Maskinporten-shaped token; `bound_to` a certificate thumbprint (`x5t#S256`) binds it (RFC 8705)."""
        organization_numbers.validate(organization_number)
        claims: dict[str, Any] = {
            "aud": aud,
            "client_id": f"gjeld-dev-{organization_number}",
            "consumer": {"authority": "iso6523-actorid-upis", "ID": f"{ISO6523_NORWEGIAN_ORG}:{organization_number}"},
            "scope": " ".join(sorted(scopes)),
            "token_type": "Bearer",
        }
        if bound_to:
            claims["cnf"] = {"x5t#S256": bound_to}
        return self.sign(Provider.MASKINPORTEN, claims, ttl_seconds)

    def subject(self, identity_number: str, aud: str, ttl_seconds: int = 300, acr: str = IDPORTEN_HIGH) -> str:
        """An ID-porten-shaped token for a person."""
        identity_numbers.validate(identity_number)
        claims = {"aud": aud, "pid": identity_number, "sub": str(uuid.uuid4()), "acr": acr, "client_id": "gjeld-cli"}
        return self.sign(Provider.IDPORTEN, claims, ttl_seconds)

    def operator(self, name: str, aud: str, ttl_seconds: int = 300) -> str:
        """A token from the operator's own identity provider for a member of staff."""
        return self.sign(Provider.OPERATOR, {"aud": aud, "sub": name, "scope": SCOPE_OPERATE}, ttl_seconds)
