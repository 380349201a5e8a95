"""notify's settings (environment variables GJELD_*)."""

from __future__ import annotations

from pathlib import Path

from gjeld_shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    listen_address: str = "127.0.0.1:50054"
    # The development digital mailbox: delivered notices land here as files.
    mailbox_dir: Path = Path(".data/mailbox")
    delivery_interval_seconds: float = 0.5
