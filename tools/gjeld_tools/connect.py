"""How the tools (the CLI, the demo, the benchmarks, the tests) reach the services: always over TLS.

A caller presents a `Credential`: a client certificate, a bearer token made for the called API, or both. A call
with a certificate goes to the service's certificate listener (mutual TLS) where that service takes certificates
(a workload certificate anywhere; an institution's enterprise certificate at ingest and lookup); every other call
goes to the token listener, with the token only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
from gjeld_shared.certificates import TlsIdentity, client_credentials
from gjeld_shared.clients import CHANNEL_OPTIONS

from .dev_identity import audience
from .devstack import TAKES_INSTITUTION_CERTIFICATES


@dataclass(frozen=True)
class Credential:
    """What a caller presents. `token` makes a bearer token for an audience (one per API)."""

    certificate: TlsIdentity | None = None
    token: Callable[[str], str] | None = None
    workload: bool = False

    def listener(self, service: str) -> str:
        """Which of the service's listeners this credential calls: `certificate` or `token`."""
        if self.certificate is not None and (self.workload or service in TAKES_INSTITUTION_CERTIFICATES):
            return "certificate"
        return "token"

    def metadata(self, service: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.token(audience(service))}")] if self.token else []


NOBODY = Credential()


def secure_channel(address: str, server_authorities: Path, certificate: TlsIdentity | None = None) -> grpc.aio.Channel:
    """A TLS channel to a gjeld listener whose certificate chains to `server_authorities`."""
    credentials = client_credentials(server_authorities, certificate)
    return grpc.aio.secure_channel(address, credentials, options=CHANNEL_OPTIONS)


def channel_for(
    service: str, addresses: dict[str, str], credential: Credential, server_authorities: Path
) -> grpc.aio.Channel:
    """A channel to `service` (its listeners' `addresses`) for `credential`."""
    listener = credential.listener(service)
    certificate = credential.certificate if listener == "certificate" else None
    return secure_channel(addresses[listener], server_authorities, certificate)
