"""consent's settings (environment variables GJELD_*)."""

from __future__ import annotations

from gjeld_shared.settings import ServiceSettings


class ConsentSettings(ServiceSettings):
    listen_address: str = "127.0.0.1:50053"
    token_listen_address: str = "127.0.0.1:50153"
    health_listen_address: str = "127.0.0.1:50253"
    # How long institutions' consent events are kept for replay: far beyond the Norwegian registry's 7 days.
    feed_retention_days: int = 400
    # A consent and its uses are kept this long after the consent ended (withdrawn, ended or expired).
    consent_retention_days: float = 730.0
    # How often expired consents are looked for (to put their expiry in the feed) and old events forgotten.
    housekeeping_interval_seconds: float = 5.0
