"""notify's settings (environment variables GJELD_*)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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
    # Production (the default: a setting forgotten fails closed): every provider below must be set, and no development
    # file or channel is used. Development: a provider that is set is used, and the development twins (the sandbox
    # population, files under the mailbox folder) stand in for the rest.
    environment: Literal["production", "development"] = "production"
    # The population register (Folkeregisteret: names and addresses) and the contact and reservation register (KRR:
    # digital mailbox or not, mobile number), both with a Maskinporten token the platform keeps fresh in a file.
    population_register_url: str = ""
    contact_register_url: str = ""
    registers_token_file: Path | None = None
    # Digital mail through Digipost: its API, gjeld's sender id and signing key, and Digipost's organisation number
    # (the postkasseleverandoeradresse KRR gives for a Digipost mailbox).
    digipost_url: str = ""
    digipost_sender_id: str = ""
    digipost_key_file: Path | None = None
    digipost_provider_number: str = ""
    # E-mail through an SMTP relay (unset: the development channel writes .eml files).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_sender: str = "gjeld <no-reply@gjeld.example>"
    smtp_starttls: bool = True
    # Text messages through an HTTP gateway, and letters through a print provider, each with a token file.
    sms_gateway_url: str = ""
    sms_gateway_token_file: Path | None = None
    sms_sender: str = "gjeld"
    print_provider_url: str = ""
    print_provider_token_file: Path | None = None

    # Retention (the README's table): a person's notices and letters 13 months, institutions' notices 400 days.
    notice_retention_days: float = 396.0
    institution_notice_retention_days: float = 400.0

    def unset_providers(self) -> list[str]:
        """The provider settings that are not set (production needs them all)."""
        needed = {
            "population_register_url": self.population_register_url,
            "contact_register_url": self.contact_register_url,
            "registers_token_file": self.registers_token_file,
            "digipost_url": self.digipost_url,
            "digipost_sender_id": self.digipost_sender_id,
            "digipost_key_file": self.digipost_key_file,
            "digipost_provider_number": self.digipost_provider_number,
            "smtp_host": self.smtp_host,
            "sms_gateway_url": self.sms_gateway_url,
            "sms_gateway_token_file": self.sms_gateway_token_file,
            "print_provider_url": self.print_provider_url,
            "print_provider_token_file": self.print_provider_token_file,
        }
        return [f"GJELD_{name.upper()}" for name, value in needed.items() if not value]
