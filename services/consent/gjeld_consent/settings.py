"""consent's settings (environment variables GJELD_*)."""

from __future__ import annotations

from gjeld_shared.settings import ServiceSettings


class ConsentSettings(ServiceSettings):
    listen_address: str = "127.0.0.1:50053"
