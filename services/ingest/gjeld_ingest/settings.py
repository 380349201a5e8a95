"""ingest's settings (environment variables GJELD_*)."""

from __future__ import annotations

from gjeld_shared.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    listen_address: str = "127.0.0.1:50051"
