"""Wires notify together: settings in, a runnable service out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import httpx
from gjeld.notify.v1 import notify_service_pb2, notify_service_pb2_grpc
from gjeld_shared.bootstrap import Parts, Wiring, assemble, registration
from gjeld_shared.server import ServiceRuntime
from opentelemetry.sdk.trace import SpanProcessor

from .adapters import (
    PROTECTED,
    Channels,
    DevelopmentChannels,
    DevelopmentPopulationRegister,
    NoticeUnitOfWork,
    PopulationRegister,
    RoutedChannels,
    retention,
)
from .entrypoints import ACCESS, NotifyServicer
from .providers import DigipostMailbox, PrintProvider, ProviderChannels, RegisterContacts, SmsGateway, SmtpEmail
from .service_layer import DeliveryPolicy, Notices
from .settings import NotifySettings

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


def providers(settings: NotifySettings, http: httpx.AsyncClient) -> tuple[Channels, PopulationRegister]:
    """The channels notices go by and where contact details come from. In production only the real providers, every
    one configured (else notify refuses to start, naming what is missing); in development those configured, and the
    development twins for the rest."""
    production = settings.environment == "production"
    if production and settings.unset_providers():
        raise ValueError(f"production needs every provider; not set: {', '.join(settings.unset_providers())}")
    if production and settings.population_register_file is not None:
        raise ValueError("production reads no development population file: unset GJELD_POPULATION_REGISTER_FILE")
    real = ProviderChannels()
    if settings.digipost_url and settings.digipost_key_file:
        real.mailbox = DigipostMailbox(
            http, settings.digipost_url, settings.digipost_sender_id, settings.digipost_key_file
        )
    if settings.smtp_host:
        real.email = SmtpEmail(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_sender,
            settings.smtp_starttls,
            settings.send_timeout_seconds,
        )
    if settings.sms_gateway_url and settings.sms_gateway_token_file:
        real.sms = SmsGateway(http, settings.sms_gateway_url, settings.sms_gateway_token_file, settings.sms_sender)
    if settings.print_provider_url and settings.print_provider_token_file:
        real.post = PrintProvider(http, settings.print_provider_url, settings.print_provider_token_file)
    channels: Channels = real
    if not production:
        channels = RoutedChannels(dict.fromkeys(real.configured, real), DevelopmentChannels(settings.mailbox_dir))
    population: PopulationRegister
    if settings.population_register_url and settings.contact_register_url and settings.registers_token_file:
        population = RegisterContacts(
            http,
            settings.population_register_url,
            settings.contact_register_url,
            settings.registers_token_file,
            settings.digipost_provider_number,
        )
    else:
        population = DevelopmentPopulationRegister(settings.population_register_file)
    return channels, population


def build(settings: NotifySettings, span_processors: Sequence[SpanProcessor] = ()) -> ServiceRuntime:
    def wire(parts: Parts) -> Wiring:
        http = httpx.AsyncClient(timeout=settings.send_timeout_seconds)
        channels, population = providers(settings, http)
        notices = Notices(
            lambda: NoticeUnitOfWork(parts.engine),
            parts.keys,
            channels,
            population,
            DeliveryPolicy(
                timedelta(seconds=settings.merge_window_seconds),
                settings.max_delivery_attempts,
                settings.retry_cap_seconds,
                settings.send_timeout_seconds,
            ),
        )
        return Wiring(
            [
                registration(
                    notify_service_pb2,
                    "NotifyService",
                    notify_service_pb2_grpc.add_NotifyServiceServicer_to_server,
                    NotifyServicer(notices, parts.pages),
                    ACCESS,
                )
            ],
            protected=PROTECTED,
            kept=retention(
                timedelta(days=settings.notice_retention_days),
                timedelta(days=settings.institution_notice_retention_days),
            ),
            background=[lambda stopping: notices.run_delivery(stopping, settings.delivery_interval_seconds)],
            on_close=[http.aclose],
        )

    return assemble(NAME, settings, wire, span_processors)
