"""notify's settings (environment variables GJELD_*)."""

from __future__ import annotations

from pathlib import Path

from gjeld_shared.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    listen_address: str = "127.0.0.1:50054"
    token_listen_address: str = "127.0.0.1:50154"
    health_listen_address: str = "127.0.0.1:50254"
    # The development channels: what is sent lands here as files, one folder per channel.
    mailbox_dir: Path = Path(".data/mailbox")
    # The development population register (synthetic people); unset: nobody has contact details.
    population_register_file: Path | None = None
    delivery_interval_seconds: float = 0.5
    # Copy letters of repeated lookups by one lender for one application within this window share one notice.
    merge_window_seconds: float = 120.0
    # Failed deliveries are retried with growing pauses (1 s, 2 s, 4 s … at most the cap), then kept for an operator.
    max_delivery_attempts: int = 10
    retry_cap_seconds: float = 300.0
    # The longest one delivery may take; a notice whose worker died mid-send is sent again after twice this.
    send_timeout_seconds: float = 30.0
    # E-mail through an SMTP relay (unset: the development channel writes .eml files).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_sender: str = "gjeld <no-reply@gjeld.example>"
    smtp_starttls: bool = True
