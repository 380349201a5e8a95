"""Configuration from the environment: one typed settings object per service.

Every variable starts with GJELD_. Secrets are files (as Kubernetes mounts them):
the token verification key, the service's own token, the subject keys.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from .identity_numbers import SubjectKeys


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


def load_subject_keys(path: Path) -> SubjectKeys:
    """Read {"index_key": b64, "encryption_keys": {"<id>": b64}, "current_key_id": n}."""
    raw = json.loads(path.read_text())
    return SubjectKeys(
        index_key=base64.b64decode(raw["index_key"]),
        encryption_keys={int(k): base64.b64decode(v) for k, v in raw["encryption_keys"].items()},
        current_key_id=int(raw["current_key_id"]),
    )


def dump_subject_keys(keys: SubjectKeys) -> str:
    return json.dumps(
        {
            "index_key": base64.b64encode(keys.index_key).decode(),
            "encryption_keys": {str(k): base64.b64encode(v).decode() for k, v in keys.encryption_keys.items()},
            "current_key_id": keys.current_key_id,
        },
        indent=2,
    )
