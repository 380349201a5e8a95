"""Configuration from the environment: one typed settings object per service.

Every variable starts with GJELD_. Secrets and trust anchors are files (as Kubernetes mounts them): the
service's certificate and key, the CA bundles it trusts, the identity providers' published keys (JWKS), the
subject keys.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url


class DatabaseSettings(BaseSettings):
    """A deployable's database: all its `migrate` command needs, and part of what every service and the portal need."""

    model_config = SettingsConfigDict(env_prefix="GJELD_", extra="ignore")

    # e.g. postgresql+asyncpg://gjeld_ingest@/gjeld?host=/path/to/socket-dir (no password in it: see the next)
    database_url: str
    # The database role's password, a mounted file (Kubernetes: the role's secret), read at start; unset: none (the
    # development stack's Unix socket trusts the role).
    database_password_file: Path | None = None
    # The service's database connections: this many kept, as many again at a peak (`max_overflow`), and a call that
    # finds none free within the pool timeout is refused UNAVAILABLE DATABASE_UNAVAILABLE (try again) rather than
    # waiting on: a bound, so that a pile-up shows as refusals, not as calls that hang.
    database_pool_size: int = 10
    database_max_overflow: int = 10
    database_pool_timeout_seconds: float = 5.0
    # Bounds on what one database session may hold (PostgreSQL's statement_timeout and
    # idle_in_transaction_session_timeout): no statement runs on, and no transaction waits on a client, for longer.
    database_statement_timeout_seconds: float = 300.0
    database_idle_in_transaction_timeout_seconds: float = 60.0
    log_level: str = "INFO"

    def database(self) -> str:
        """The database URL with the password from `database_password_file`, for the engine and the migrations only
        (SQLAlchemy hides the password wherever it prints the URL)."""
        if self.database_password_file is None:
            return self.database_url
        password = self.database_password_file.read_text().strip()
        return make_url(self.database_url).set(password=password).render_as_string(hide_password=False)


class ServiceSettings(DatabaseSettings):
    """What every service needs; each service extends it with its own fields."""

    # Mutual TLS: gjeld's services and institutions with their certificates.
    listen_address: str = "127.0.0.1:0"
    # TLS without client certificates: persons, operators, and institutions with a token only.
    token_listen_address: str = "127.0.0.1:0"
    # Plaintext, health checking only (Kubernetes' native gRPC probes speak plaintext).
    health_listen_address: str = "127.0.0.1:0"
    # A span for every SQL statement (OpenTelemetry's SQLAlchemy instrumentation): for a closer look while
    # debugging. Off by default: it costs about 0.3 ms of CPU a statement, more than the statement itself; the use
    # cases' own spans and every gRPC call are traced either way.
    trace_statements: bool = False
    # This service's workload certificate (server and client) and key.
    tls_certificate_file: Path
    tls_key_file: Path
    # Optional: a certificate for the names institutions and persons reach the service by (from a CA they trust),
    # presented to clients that ask for one of its names (SNI); the workload certificate to everyone else.
    public_tls_certificate_file: Path | None = None
    public_tls_key_file: Path | None = None
    # The CA(s) of gjeld's workload certificates, and the prefix of a service's SPIFFE ID (the service name follows).
    workload_ca_file: Path
    workload_id_prefix: str = "spiffe://gjeld.local/ns/gjeld/sa/"
    # The enterprise CAs (Buypass, Commfides: roots and intermediates) whose certificates institutions present.
    institution_ca_file: Path | None = None
    # Their revocation lists (PEM CRLs, signed by those CAs), read again when the file changes.
    institution_crl_file: Path | None = None
    # This API's audience in tokens, and the identity providers it trusts: issuer and published keys of each.
    token_audience: str
    token_max_lifetime_seconds: int = 3600
    token_leeway_seconds: int = 10
    maskinporten_issuer: str = "https://maskinporten.no/"
    maskinporten_jwks_file: Path | None = None
    idporten_issuer: str = "https://idporten.no"
    idporten_jwks_file: Path | None = None
    operator_issuer: str = ""
    operator_jwks_file: Path | None = None
    # Only for services that call institutions (lookup, ingest): the registry's enterprise certificate and key, and
    # the CAs that institutions' server certificates chain to.
    registry_certificate_file: Path | None = None
    registry_key_file: Path | None = None
    creditor_ca_file: Path | None = None
    subject_keys_file: Path
    institutions_file: Path
    trace_file: Path | None = None
    # Where to write the port actually bound (when listening on port 0), for supervisors and tests.
    port_file: Path | None = None
    shutdown_grace_seconds: float = 5.0
    # How often what has outlived its retention is deleted (the rules: each service's adapters, the README's table).
    retention_interval_seconds: float = 3600.0
