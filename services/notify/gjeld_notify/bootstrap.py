"""Wires notify together: settings in, a runnable service out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

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
    RoutedChannels,
    SmtpEmail,
)
from .domain import Channel
from .entrypoints import ACCESS, NotifyServicer
from .service_layer import DeliveryPolicy, Notices
from .settings import NotifySettings

NAME = "notify"
MIGRATIONS = Path(__file__).parent / "migrations"


def channels(settings: NotifySettings) -> Channels:
    """The providers that carry notices: those configured, the development channels for the rest."""
    development = DevelopmentChannels(settings.mailbox_dir)
    if not settings.smtp_host:
        return development
    smtp = SmtpEmail(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_sender,
        settings.smtp_starttls,
        settings.send_timeout_seconds,
    )
    return RoutedChannels({Channel.EMAIL: smtp}, development)


def build(settings: NotifySettings, span_processors: Sequence[SpanProcessor] = ()) -> ServiceRuntime:
    def wire(parts: Parts) -> Wiring:
        notices = Notices(
            lambda: NoticeUnitOfWork(parts.engine),
            parts.keys,
            channels(settings),
            DevelopmentPopulationRegister(settings.population_register_file),
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
            background=[lambda stopping: notices.run_delivery(stopping, settings.delivery_interval_seconds)],
        )

    return assemble(NAME, settings, wire, span_processors)
