"""lookup's settings (environment variables GJELD_*)."""

from __future__ import annotations

from pathlib import Path

from gjeld_shared.settings import ServiceSettings


class LookupSettings(ServiceSettings):
    listen_address: str = "127.0.0.1:50052"
    token_listen_address: str = "127.0.0.1:50152"
    health_listen_address: str = "127.0.0.1:50252"
    ingest_address: str = "127.0.0.1:50051"
    consent_address: str = "127.0.0.1:50053"
    notify_address: str = "127.0.0.1:50054"
    # The longest one call to another service may take.
    call_timeout_seconds: float = 5.0
    relay_interval_seconds: float = 0.5
    # A copy letter that cannot be handed to notify this many times is set aside (failed_time), not retried forever.
    max_relay_attempts: int = 10
    # How long a lookup waits for live creditors when the caller does not say (the Norwegian registry's default).
    default_max_wait_seconds: float = 3.0
    # Score-model extracts (DOM-11): the registry's Ed25519 key that signs packages' manifests (its public key is
    # published to institutions), the registry's organisation number (the packages' provider), and how often to
    # look for a round to run and packages past their deletion deadline.
    extract_signing_key_file: Path
    registry_organization_number: str
    extract_housekeeping_interval_seconds: float = 60.0
    # Recipients are reminded this many days before a package's deletion deadline.
    extract_remind_days: float = 14.0
    # How often lookup reads ingest's resolved correction requests, to tell everyone who received the wrong data and
    # the person (DOM-14).
    correction_relay_interval_seconds: float = 5.0
    # Data its creditor has not confirmed for this long is marked stale to lenders and the person (a daily snapshot
    # missed, DOM-8); after the second, lenders are no longer shown it (0: always shown, marked). The operator's
    # policy.
    stale_after_hours: float = 36.0
    withhold_stale_after_hours: float = 168.0
    # Retention (the README's table): a disclosure's content (the answer) 30 days, the record of who received what 2
    # years, copy letters handed to notify 7 days, those set aside for operators 90 days.
    disclosed_content_days: float = 30.0
    disclosure_retention_days: float = 730.0
    relayed_letter_days: float = 7.0
    set_aside_letter_days: float = 90.0
    # The disclosure log's signed checkpoints (audit.py) are appended to this file, outside the database, this often
    # when the log has grown; unset: none are written (then no proof can be given). Signed with the registry's key
    # (the extract signing key).
    audit_checkpoint_file: Path | None = None
    audit_checkpoint_interval_seconds: float = 60.0
    # Overload is shed, not queued: at most this many lookups at once (a replica's share of the database pool and
    # its CPU); one that finds no room within the wait is refused RESOURCE_EXHAUSTED at once.
    max_concurrent_lookups: int = 16
    admission_wait_seconds: float = 0.02
