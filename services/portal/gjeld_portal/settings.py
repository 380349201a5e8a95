"""The portal's settings (environment variables GJELD_*).

The portal owns nothing of the register: what it shows it asks lookup, consent and notify for, over mutual TLS with
its own workload certificate, carrying the person's own access token (one per service, RFC 8707 resource
indicators). Its database holds the browsers' sessions only (schema `portal`, role `gjeld_portal`), shared by
every replica.
"""

from __future__ import annotations

from pathlib import Path

from gjeld_shared.settings import DatabaseSettings
from pydantic import model_validator


class PortalSettings(DatabaseSettings):
    # The sessions' database (DatabaseSettings): a statement waits at most this long, a page is no batch job; but
    # longer than a token renewal, which holds its session's row while it asks ID-porten (`call_timeout_seconds`),
    # and another request of the same person waits for it.
    database_statement_timeout_seconds: float = 30.0
    # The keys that seal what a session holds of the person (identity number, tokens, login state): a key file in
    # the format of every service's subject keys (`load_subject_keys`), the portal's own. Sessions live two hours at
    # most, so an old encryption key may leave the file that long after a new one became current.
    session_keys_file: Path

    # Where the pages are served (HTTP; TLS ends at the ingress in front of it outside development).
    portal_address: str = "127.0.0.1:8080"
    # The address persons reach the pages at (the OpenID Connect redirect goes back there); by default
    # http://<portal_address>.
    public_url: str = ""
    # Outside development the session cookie is Secure (sent over HTTPS only) and named __Host-.
    secure_cookies: bool = True
    # A session ends after this long without a request, and this long after login whatever happens.
    session_idle_seconds: float = 900.0
    session_absolute_seconds: float = 7200.0
    # The services' mutual-TLS listeners, and their audiences (the resource each of the person's tokens is for).
    lookup_address: str = "127.0.0.1:50052"
    consent_address: str = "127.0.0.1:50053"
    notify_address: str = "127.0.0.1:50054"
    ingest_address: str = "127.0.0.1:50051"
    lookup_audience: str
    consent_audience: str
    notify_audience: str
    ingest_audience: str
    # The portal's workload certificate and key, and the CA of gjeld's workload certificates.
    tls_certificate_file: Path
    tls_key_file: Path
    workload_ca_file: Path
    # The longest one call to a service may take.
    call_timeout_seconds: float = 10.0
    # ID-porten (OpenID Connect): the issuer, where its configuration is published (by default
    # <issuer>/.well-known/openid-configuration), this client's id and secret (a mounted file).
    oidc_issuer: str = "https://idporten.no"
    oidc_discovery_url: str = ""
    oidc_client_id: str
    oidc_client_secret_file: Path
    oidc_acr: str = "idporten-loa-high"
    # The operator's directory of institutions: the names of lenders a person gave consent to.
    institutions_file: Path
    trace_file: Path | None = None
    # Where to write the port actually bound (when listening on port 0), for supervisors and tests.
    port_file: Path | None = None

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.portal_address}").rstrip("/")

    @property
    def discovery_url(self) -> str:
        return self.oidc_discovery_url or f"{self.oidc_issuer.rstrip('/')}/.well-known/openid-configuration"

    @model_validator(mode="after")
    def _renewal_fits_the_database_bounds(self) -> PortalSettings:
        """A token renewal holds its session's row (and a transaction) while it calls ID-porten: the call must end
        before the statements waiting for the row, and the transaction, are cut off."""
        if self.call_timeout_seconds >= min(
            self.database_statement_timeout_seconds, self.database_idle_in_transaction_timeout_seconds
        ):
            raise ValueError(
                "call_timeout_seconds must be below database_statement_timeout_seconds and"
                " database_idle_in_transaction_timeout_seconds"
            )
        return self
