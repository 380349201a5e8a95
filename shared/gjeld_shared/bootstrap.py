"""What every service's bootstrap does the same way: tracing, database engine, keys, institution directory,
certificates and token verification; the service adds its servicers (each with its access rules) and tasks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from cryptography import x509
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from sqlalchemy.ext.asyncio import AsyncEngine

from . import db, retention, telemetry
from .access import Rule
from .certificates import PeerCertificates, Revocations, TlsIdentity, load_bundle, organization_number_of
from .clients import mutual_tls_channel
from .identity_numbers import SubjectKeys, load_subject_keys
from .institutions import Institution, InstitutionDirectory
from .paging import PageTokens
from .rekey import Protected, refuse_other_index_keys
from .retention import Kept
from .server import BackgroundTask, Listeners, Registration, ServiceRuntime, Trust
from .settings import ServiceSettings
from .tokens import IdentityProvider, KeySet, Provider, TokenVerifier


@dataclass
class Parts:
    """The common parts a service's wiring receives."""

    name: str
    settings: ServiceSettings
    engine: AsyncEngine
    tracer_provider: TracerProvider
    keys: SubjectKeys
    directory: InstitutionDirectory

    @property
    def pages(self) -> PageTokens:
        """This service's page tokens, sealed with a key of its own."""
        return PageTokens(self.keys.derive("page tokens"))

    def channel(self, target: str) -> grpc.aio.Channel:
        """A channel to another gjeld service, authenticated by this service's workload certificate."""
        s = self.settings
        identity = TlsIdentity(s.tls_certificate_file, s.tls_key_file)
        return mutual_tls_channel(target, s.workload_ca_file, identity, self.tracer_provider)

    def creditor_channel(self, institution: Institution) -> grpc.aio.Channel:
        """A channel to an institution's creditor service, authenticated by the registry's enterprise certificate,
        believing only a server certificate from the CA pinned for that institution (else the operator's default)."""
        s = self.settings
        if s.registry_certificate_file is None or s.registry_key_file is None or s.creditor_ca_file is None:
            raise ValueError(
                f"{self.name} calls institutions and needs GJELD_REGISTRY_CERTIFICATE_FILE, GJELD_REGISTRY_KEY_FILE "
                "and GJELD_CREDITOR_CA_FILE"
            )
        identity = TlsIdentity(s.registry_certificate_file, s.registry_key_file)
        authorities = institution.creditor_ca_file or s.creditor_ca_file
        return mutual_tls_channel(institution.creditor_endpoint, authorities, identity, self.tracer_provider)


@dataclass
class Wiring:
    """What a service adds: its gRPC services, background tasks, and what to close on stop."""

    registrations: Sequence[Registration]
    background: Sequence[BackgroundTask] = ()
    on_close: Sequence[Callable[[], Awaitable[None]]] = ()
    # The tables that hold identity numbers (adapters.PROTECTED): the service starts only if they match its keys.
    protected: Sequence[Protected] = ()
    # What the service keeps and for how long (adapters' retention rules): pruned by one housekeeping loop.
    kept: Sequence[Kept] = ()
    # The most calls the service serves at once (beyond: RESOURCE_EXHAUSTED at the door); None: no limit.
    max_concurrent_rpcs: int | None = None
    # Interceptors in front of all others: where the service sheds its overload (interceptors.Door).
    doors: Sequence[grpc.aio.ServerInterceptor] = ()


def registration(
    module: Any,
    service: str,
    add: Callable[[Any, grpc.aio.Server], None],
    servicer: Any,
    rules: Mapping[str, Rule],
) -> Registration:
    """Register `servicer` for `service`, a service in the generated `module`, with the access rule of each of its
    methods by name. A method without a rule, or a rule for no method, stops the service from starting."""
    descriptor = module.DESCRIPTOR.services_by_name[service]
    methods = {m.name for m in descriptor.methods}
    if methods != set(rules):
        raise ValueError(
            f"{descriptor.full_name}: access rules missing for {sorted(methods - set(rules))}, "
            f"for no method: {sorted(set(rules) - methods)}"
        )
    full = {f"/{descriptor.full_name}/{name}": rule for name, rule in rules.items()}
    return Registration(descriptor.full_name, lambda server: add(servicer, server), full)


def admission(settings: ServiceSettings, directory: InstitutionDirectory) -> Callable[[str], bool]:
    """Which institutions take part: those in the operator's directory, never the registry operator itself (its
    certificate, held by the services that call banks, must not deliver or look up as an institution)."""
    registry = None
    if settings.registry_certificate_file is not None:
        registry = organization_number_of(
            x509.load_pem_x509_certificate(settings.registry_certificate_file.read_bytes())
        )
    return lambda organization_number: organization_number != registry and directory.admits(organization_number)


def token_verifier(settings: ServiceSettings) -> TokenVerifier:
    """The verifier of this API's tokens, from the identity providers configured (a JWKS file each)."""
    configured = [
        (Provider.MASKINPORTEN, settings.maskinporten_issuer, settings.maskinporten_jwks_file),
        (Provider.IDPORTEN, settings.idporten_issuer, settings.idporten_jwks_file),
        (Provider.OPERATOR, settings.operator_issuer, settings.operator_jwks_file),
    ]
    return TokenVerifier(
        [IdentityProvider(kind, issuer, KeySet(jwks)) for kind, issuer, jwks in configured if issuer and jwks],
        settings.token_audience,
        max_lifetime_seconds=settings.token_max_lifetime_seconds,
        leeway_seconds=settings.token_leeway_seconds,
    )


def assemble(
    name: str, settings: ServiceSettings, wire: Callable[[Parts], Wiring], span_processors: Sequence[SpanProcessor] = ()
) -> ServiceRuntime:
    provider = telemetry.tracer_provider(f"gjeld-{name}", settings.trace_file, span_processors)
    engine = db.create_engine(
        settings.database(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout_seconds,
        statement_timeout=settings.database_statement_timeout_seconds,
        idle_in_transaction_timeout=settings.database_idle_in_transaction_timeout_seconds,
        application_name=f"gjeld-{name}",
        tracer_provider=provider if settings.trace_statements else None,
    )
    parts = Parts(
        name,
        settings,
        engine,
        provider,
        load_subject_keys(settings.subject_keys_file),
        InstitutionDirectory.load(settings.institutions_file),
    )
    wiring = wire(parts)
    authorities = [p for p in (settings.workload_ca_file, settings.institution_ca_file) if p is not None]
    institution_authorities = load_bundle(settings.institution_ca_file)
    trust = Trust(
        identities=[
            TlsIdentity(settings.tls_certificate_file, settings.tls_key_file),
            *(
                [TlsIdentity(settings.public_tls_certificate_file, settings.public_tls_key_file)]
                if settings.public_tls_certificate_file and settings.public_tls_key_file
                else []
            ),
        ],
        client_authorities=authorities,
        peers=PeerCertificates(
            load_bundle(settings.workload_ca_file),
            institution_authorities,
            settings.workload_id_prefix,
            Revocations(settings.institution_crl_file, institution_authorities),
        ),
        verifier=token_verifier(settings),
        admitted=admission(settings, parts.directory),
    )
    return ServiceRuntime(
        name=name,
        listeners=Listeners(settings.listen_address, settings.token_listen_address, settings.health_listen_address),
        trust=trust,
        tracer_provider=provider,
        registrations=wiring.registrations,
        background=[
            *wiring.background,
            *(
                [lambda stopping: retention.run(engine, wiring.kept, stopping, settings.retention_interval_seconds)]
                if wiring.kept
                else []
            ),
        ],
        preflight=[lambda: refuse_other_index_keys(engine, parts.keys, wiring.protected)],
        on_close=[*wiring.on_close, engine.dispose],
        grace_seconds=settings.shutdown_grace_seconds,
        port_file=settings.port_file,
        max_concurrent_rpcs=wiring.max_concurrent_rpcs,
        doors=wiring.doors,
    )
