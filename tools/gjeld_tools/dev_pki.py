"""The development certificates: stand-ins for gjeld's workload CA and for the enterprise CAs (Buypass, Commfides).

Made once under `.data/secrets/pki/` and reused:

- `workload-ca.pem`: issues each service's workload certificate, `services/<name>.pem`, with its SPIFFE ID
  (`spiffe://gjeld.local/ns/gjeld/sa/<name>`) and the names it is reached by (localhost, 127.0.0.1);
- `enterprise-ca.pem`: issues institutions' enterprise certificates, `institutions/<org>.pem`, with
  organizationIdentifier `NTRNO-<org>` (`gjeld cert institution ORG`), the registry's own enterprise certificate
  `registry.pem` (what lookup and ingest present to banks), and banks' server certificates `banks/<name>.pem`.

Keys are ECDSA P-256, files 0600. Nothing here runs in production: there the workload certificates come from
cert-manager and the enterprise certificates from the CAs the institutions buy them from.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from gjeld_shared.certificates import NORWEGIAN_ORGANIZATION_PREFIX, ORGANIZATION_IDENTIFIER, TlsIdentity

WORKLOAD_ID_PREFIX = "spiffe://gjeld.local/ns/gjeld/sa/"
# The registry operator's own organisation (in development): the subject of the certificate it presents to banks.
REGISTRY_ORGANIZATION = "919191919"
LOCAL_NAMES: list[x509.GeneralName] = [
    x509.DNSName("localhost"),
    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
]


def write_secret(path: Path, data: bytes) -> None:
    """Write a development secret readable by its owner only, from the moment it exists."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


@dataclass(frozen=True)
class _Authority:
    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey


class DevelopmentPki:
    """The development CAs and the certificates they issue, under one folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def workload_ca(self) -> Path:
        return self.root / "workload-ca.pem"

    @property
    def enterprise_ca(self) -> Path:
        return self.root / "enterprise-ca.pem"

    @property
    def enterprise_crl(self) -> Path:
        """The enterprise CA's revocation list (empty until `revoke`)."""
        return self.root / "enterprise-ca.crl.pem"

    def revoke(self, identity: TlsIdentity) -> None:
        """Put an enterprise certificate on the enterprise CA's revocation list."""
        certificate = x509.load_pem_x509_certificate(identity.certificate_file.read_bytes())
        self._publish_crl([*self._revoked_serials(), certificate.serial_number])

    def _revoked_serials(self) -> list[int]:
        if not self.enterprise_crl.exists():
            return []
        return [entry.serial_number for entry in x509.load_pem_x509_crl(self.enterprise_crl.read_bytes())]

    def _publish_crl(self, serials: list[int]) -> None:
        authority = self._authority("enterprise")
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(authority.certificate.subject)
            .last_update(now - dt.timedelta(minutes=5))
            .next_update(now + dt.timedelta(days=7))
        )
        for serial in serials:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build()
            )
        crl = builder.sign(authority.key, hashes.SHA256())
        written = self.enterprise_crl.with_suffix(".tmp")
        written.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
        written.replace(self.enterprise_crl)  # whole, then in place: a service never reads half

    def service(self, name: str) -> TlsIdentity:
        return self._identity("services", name)

    def institution(self, organization_number: str) -> TlsIdentity:
        """An institution's enterprise certificate, issued on first use."""
        identity = self._identity("institutions", organization_number)
        if not identity.certificate_file.exists():
            self.issue_institution(identity, organization_number)
        return identity

    def registry(self) -> TlsIdentity:
        return self._identity("", "registry")

    def bank(self, name: str) -> TlsIdentity:
        """A bank's server certificate for its creditor endpoint, issued on first use."""
        identity = self._identity("banks", name)
        if not identity.certificate_file.exists():
            self.issue(identity, "enterprise", [x509.NameAttribute(NameOID.COMMON_NAME, name)], LOCAL_NAMES)
        return identity

    def _identity(self, folder: str, name: str) -> TlsIdentity:
        base = self.root / folder if folder else self.root
        return TlsIdentity(base / f"{name}.pem", base / f"{name}.key")

    def ensure(self, services: list[str]) -> None:
        """Make the CAs and every certificate the suite needs, once."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        for name in ("workload", "enterprise"):
            if not (self.root / f"{name}-ca.pem").exists():
                self._make_authority(name)
        if not self.enterprise_crl.exists():
            self._publish_crl([])
        for service in services:
            identity = self.service(service)
            if not identity.certificate_file.exists():
                self.issue_service(identity, service)
        registry = self.registry()
        if not registry.certificate_file.exists():
            self.issue_institution(registry, REGISTRY_ORGANIZATION, "gjeld registry")

    def issue_service(self, identity: TlsIdentity, service: str, *, expired: bool = False) -> TlsIdentity:
        names = [x509.UniformResourceIdentifier(f"{WORKLOAD_ID_PREFIX}{service}"), x509.DNSName(service), *LOCAL_NAMES]
        subject = [x509.NameAttribute(NameOID.COMMON_NAME, f"gjeld-{service}")]
        return self.issue(identity, "workload", subject, names, expired=expired)

    def issue_institution(
        self, identity: TlsIdentity, organization_number: str, name: str = "", *, expired: bool = False
    ) -> TlsIdentity:
        subject = [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "NO"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, name or f"Organisation {organization_number}"),
            x509.NameAttribute(ORGANIZATION_IDENTIFIER, f"{NORWEGIAN_ORGANIZATION_PREFIX}{organization_number}"),
            x509.NameAttribute(NameOID.COMMON_NAME, name or f"Organisation {organization_number}"),
        ]
        return self.issue(identity, "enterprise", subject, [], expired=expired)

    def issue(
        self,
        identity: TlsIdentity,
        authority_name: str,
        subject: list[x509.NameAttribute[str]],
        names: list[x509.GeneralName],
        *,
        expired: bool = False,
        may_sign: bool = True,
    ) -> TlsIdentity:
        authority = self._authority(authority_name)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        not_before = now - (dt.timedelta(days=30) if expired else dt.timedelta(minutes=5))
        not_after = now - dt.timedelta(days=1) if expired else now + dt.timedelta(days=825)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(subject))
            .issuer_name(authority.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(may_sign, False, not may_sign, False, False, False, False, False, False), critical=True
            )
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        )
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        certificate = builder.sign(authority.key, hashes.SHA256())
        write_secret(
            identity.key_file,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        identity.certificate_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        return identity

    def _make_authority(self, name: str) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"gjeld development {name} CA")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256())
        )
        write_secret(
            self.root / f"{name}-ca.key",
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        (self.root / f"{name}-ca.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))

    def _authority(self, name: str) -> _Authority:
        certificate = x509.load_pem_x509_certificate((self.root / f"{name}-ca.pem").read_bytes())
        key = serialization.load_pem_private_key((self.root / f"{name}-ca.key").read_bytes(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return _Authority(certificate, key)
