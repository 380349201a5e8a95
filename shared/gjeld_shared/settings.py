"""Configuration from the environment: one typed settings object per service.

Every variable starts with GJELD_. Secrets are files (as Kubernetes mounts them):
the token verification key, the service's own token, the subject keys.
"""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

# The key file is read and written next to the keys it holds, in identity_numbers; these names stay here for
# the callers that still import them from this module (the shared bootstrap and the development stack).
from .identity_numbers import dump_subject_keys, load_subject_keys

__all__ = ["ServiceSettings", "dump_subject_keys", "load_subject_keys"]


class ServiceSettings(BaseSettings):
    """What every service needs; each service extends it with its own fields."""

    model_config = SettingsConfigDict(env_prefix="GJELD_", extra="ignore")

    listen_address: str = "127.0.0.1:0"
    # e.g. postgresql+asyncpg://gjeld_ingest@/gjeld?host=/path/to/socket-dir
    database_url: str
    database_pool_size: int = 10
    token_issuer: str = "gjeld-dev-issuer"
    token_audience: str = "gjeld"
    token_public_key_file: Path
    # This service's own token for calls to the other services.
    service_token_file: Path | None = None
    subject_keys_file: Path
    institutions_file: Path
    trace_file: Path | None = None
    # Where to write the port actually bound (when listening on port 0), for supervisors and tests.
    port_file: Path | None = None
    shutdown_grace_seconds: float = 5.0
    log_level: str = "INFO"
