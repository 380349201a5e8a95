"""Certificates: TLS for every listener and channel, and who a peer's certificate says it is.

Two kinds of peer present a client certificate on a service's certificate listener:
- gjeld's own services: a workload certificate from the workload CA, naming the service by a SPIFFE ID in a URI
  SAN (`spiffe://<trust domain>/ns/<namespace>/sa/<service>`, the shape cert-manager's csi-driver-spiffe issues);
- institutions: an enterprise certificate (virksomhetssertifikat) from an enterprise CA (Buypass, Commfides; in
  development the dev enterprise CA) whose subject carries organizationIdentifier `NTRNO-<organisation number>`
  and whose key may sign (keyUsage digitalSignature), as the live registry requires.

The TLS handshake has already verified the chain and the validity period. This module decides which of the two a
verified certificate is by the CA that issued it, so an enterprise CA can never mint a service identity and the
workload CA never an institution. Keys and certificates are PEM files, as Kubernetes mounts secrets.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ObjectIdentifier

from . import organization_numbers
from .errors import PermissionDenied

log = logging.getLogger(__name__)

ORGANIZATION_IDENTIFIER = ObjectIdentifier("2.5.4.97")  # X.520 organizationIdentifier (ETSI EN 319 412-1)
NORWEGIAN_ORGANIZATION_PREFIX = "NTRNO-"


@dataclass(frozen=True)
class ServicePeer:
    """One of gjeld's services, by the name in its workload identity."""

    name: str


@dataclass(frozen=True)
class InstitutionPeer:
    """An institution, by the organisation number in its enterprise certificate; `thumbprint` is the certificate's
    SHA-256 thumbprint as RFC 8705 writes it (`x5t#S256`), to bind tokens to it; issuer and serial number find it in
    its CA's revocation list."""

    organization_number: str
    thumbprint: str
    issuer: x509.Name | None = field(default=None, compare=False)
    serial_number: int = field(default=0, compare=False)


Peer = ServicePeer | InstitutionPeer


def load_bundle(*paths: Path | None) -> list[x509.Certificate]:
    """Every certificate in the given PEM files."""
    certificates: list[x509.Certificate] = []
    for path in paths:
        if path is not None:
            certificates.extend(x509.load_pem_x509_certificates(path.read_bytes()))
    return certificates


def thumbprint(certificate: x509.Certificate) -> str:
    """The base64url SHA-256 of the DER certificate, unpadded (RFC 8705 `x5t#S256`)."""
    digest = hashlib.sha256(certificate.public_bytes(Encoding.DER)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _issued_by_one_of(certificate: x509.Certificate, authorities: list[x509.Certificate]) -> bool:
    for authority in authorities:
        if authority.subject != certificate.issuer:
            continue
        try:
            certificate.verify_directly_issued_by(authority)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return True
    return False


def organization_number_of(certificate: x509.Certificate) -> str | None:
    """The organisation number in an enterprise certificate's organizationIdentifier, or None."""
    for attribute in certificate.subject.get_attributes_for_oid(ORGANIZATION_IDENTIFIER):
        value = str(attribute.value)
        if value.startswith(NORWEGIAN_ORGANIZATION_PREFIX):
            try:
                return organization_numbers.validate(value.removeprefix(NORWEGIAN_ORGANIZATION_PREFIX))
            except organization_numbers.InvalidOrganizationNumber:
                return None
    return None


def _may_sign(certificate: x509.Certificate) -> bool:
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return bool(usage.digital_signature)


def _spiffe_ids(certificate: x509.Certificate) -> list[str]:
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [uri for uri in names.get_values_for_type(x509.UniformResourceIdentifier) if uri.startswith("spiffe://")]


class Revocations:
    """The enterprise CAs' revocation lists (a PEM file of CRLs, kept current by the operator: a CronJob fetching
    the CAs' published lists into a ConfigMap). A list counts only if one of the CAs signed it; the file is read again
    when it changes, so a revoked certificate is refused within seconds, without a restart."""

    RECHECK_SECONDS = 5.0

    def __init__(self, path: Path | None, authorities: list[x509.Certificate]) -> None:
        self._path, self._authorities = path, authorities
        self._mtime, self._checked = -1.0, 0.0
        self._revoked: frozenset[tuple[x509.Name, int]] = frozenset()

    def _reload(self) -> None:
        self._checked = time.monotonic()
        if self._path is None:
            return
        mtime = self._path.stat().st_mtime
        if mtime == self._mtime:
            return
        revoked: set[tuple[x509.Name, int]] = set()
        for crl in _load_crls(self._path.read_bytes()):
            signer = next((a for a in self._authorities if a.subject == crl.issuer), None)
            if signer is None or not crl.is_signature_valid(signer.public_key()):  # type: ignore[arg-type]
                log.warning("a revocation list not signed by a trusted CA was ignored (issuer %s)", crl.issuer)
                continue
            revoked.update((crl.issuer, entry.serial_number) for entry in crl)
        self._revoked, self._mtime = frozenset(revoked), mtime

    def revoked(self, peer: InstitutionPeer) -> bool:
        if time.monotonic() - self._checked > self.RECHECK_SECONDS:
            self._reload()
        return (peer.issuer, peer.serial_number) in self._revoked


def _load_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    blocks = data.split(b"-----END X509 CRL-----")
    return [x509.load_pem_x509_crl(block + b"-----END X509 CRL-----") for block in blocks if b"-----BEGIN" in block]


class PeerCertificates:
    """Says who a verified client certificate belongs to: a service (by its workload identity) or an institution."""

    def __init__(
        self,
        workload_authorities: list[x509.Certificate],
        institution_authorities: list[x509.Certificate],
        workload_id_prefix: str,
        revocations: Revocations | None = None,
    ) -> None:
        self._workload = workload_authorities
        self._institutions = institution_authorities
        self._prefix = workload_id_prefix
        self._revocations = revocations or Revocations(None, [])
        # A certificate is read once per connection's first call, then remembered (parsing costs ~100 µs).
        self.identify = lru_cache(maxsize=4096)(self._identify)

    def recognise(self, pem: bytes) -> Peer | None:
        """Who the certificate names (None: no one known here); PERMISSION_DENIED if it has been revoked."""
        peer = self.identify(pem)
        if isinstance(peer, InstitutionPeer) and self._revocations.revoked(peer):
            raise PermissionDenied("CERTIFICATE_REVOKED", "the client certificate has been revoked by its CA")
        return peer

    def _identify(self, pem: bytes) -> Peer | None:
        certificate = x509.load_pem_x509_certificate(pem)
        if _issued_by_one_of(certificate, self._workload):
            for spiffe_id in _spiffe_ids(certificate):
                name = spiffe_id.removeprefix(self._prefix)
                if spiffe_id.startswith(self._prefix) and name and "/" not in name:
                    return ServicePeer(name)
            return None
        if _issued_by_one_of(certificate, self._institutions) and _may_sign(certificate):
            number = organization_number_of(certificate)
            if number is not None:
                return InstitutionPeer(number, thumbprint(certificate), certificate.issuer, certificate.serial_number)
        return None


@dataclass(frozen=True)
class TlsIdentity:
    """A certificate chain and its private key (PEM files)."""

    certificate_file: Path
    key_file: Path

    def pair(self) -> tuple[bytes, bytes]:
        return self.key_file.read_bytes(), self.certificate_file.read_bytes()


def certificate_listener(identities: Sequence[TlsIdentity], client_authorities: list[Path]) -> grpc.ServerCredentials:
    """TLS that requires a client certificate from one of `client_authorities` (mutual TLS). With several server
    certificates, the one whose names match the name the client asks for (SNI) is presented, else the first."""
    roots = b"".join(path.read_bytes() for path in client_authorities)
    pairs = [identity.pair() for identity in identities]
    return grpc.ssl_server_credentials(pairs, root_certificates=roots, require_client_auth=True)


def token_listener(identities: Sequence[TlsIdentity]) -> grpc.ServerCredentials:
    """TLS that asks for no client certificate: for callers who prove themselves with a bearer token only."""
    return grpc.ssl_server_credentials([identity.pair() for identity in identities])


def client_credentials(server_authorities: Path, identity: TlsIdentity | None = None) -> grpc.ChannelCredentials:
    """TLS to a server whose certificate chains to `server_authorities`, presenting `identity` if given."""
    key, chain = identity.pair() if identity is not None else (None, None)
    return grpc.ssl_channel_credentials(server_authorities.read_bytes(), key, chain)
