"""Who a verified client certificate belongs to: a service only by the workload CA and its SPIFFE ID, an institution
only by an enterprise CA, its organizationIdentifier NTRNO-<org> and a key that may sign."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
from gjeld_shared.certificates import (
    ORGANIZATION_IDENTIFIER,
    InstitutionPeer,
    PeerCertificates,
    Revocations,
    ServicePeer,
    TlsIdentity,
    load_bundle,
)
from gjeld_tools.dev_pki import LOCAL_NAMES, WORKLOAD_ID_PREFIX, DevelopmentPki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevelopmentPki:
    made = DevelopmentPki(tmp_path_factory.mktemp("pki"))
    made.ensure(["lookup"])
    return made


def identify(pki: DevelopmentPki, identity: TlsIdentity) -> object:
    peers = PeerCertificates(load_bundle(pki.workload_ca), load_bundle(pki.enterprise_ca), WORKLOAD_ID_PREFIX)
    return peers.identify(identity.certificate_file.read_bytes())


def made(
    pki: DevelopmentPki, tmp: Path, name: str, authority: str, subject: list, names: list, **options: object
) -> TlsIdentity:  # type: ignore[type-arg]
    return pki.issue(TlsIdentity(tmp / f"{name}.pem", tmp / f"{name}.key"), authority, subject, names, **options)  # type: ignore[arg-type]


def test_services_and_institutions_are_told_apart(pki: DevelopmentPki) -> None:
    assert identify(pki, pki.service("lookup")) == ServicePeer("lookup")
    institution = identify(pki, pki.institution("911222333"))
    assert isinstance(institution, InstitutionPeer) and institution.organization_number == "911222333"


def test_certificates_with_the_wrong_content_name_no_one(pki: DevelopmentPki, tmp_path: Path) -> None:
    cn = [x509.NameAttribute(NameOID.COMMON_NAME, "x")]
    ntrno = [*cn, x509.NameAttribute(ORGANIZATION_IDENTIFIER, "NTRNO-911222333")]
    spiffe = [x509.UniformResourceIdentifier(f"{WORKLOAD_ID_PREFIX}lookup"), *LOCAL_NAMES]
    cases = {
        # An enterprise CA cannot make a service, nor the workload CA an institution.
        "enterprise CA, lookup's SPIFFE ID": made(pki, tmp_path, "a", "enterprise", cn, spiffe),
        "workload CA, an organizationIdentifier": made(pki, tmp_path, "b", "workload", ntrno, []),
        "workload CA, another namespace": made(
            pki, tmp_path, "c", "workload", cn, [x509.UniformResourceIdentifier("spiffe://gjeld.local/ns/x/sa/lookup")]
        ),
        "workload CA, a longer path": made(
            pki, tmp_path, "d", "workload", cn, [x509.UniformResourceIdentifier(f"{WORKLOAD_ID_PREFIX}lookup/x")]
        ),
        "enterprise CA, no organizationIdentifier": made(pki, tmp_path, "e", "enterprise", cn, []),
        "enterprise CA, a foreign organizationIdentifier": made(
            pki, tmp_path, "f", "enterprise", [*cn, x509.NameAttribute(ORGANIZATION_IDENTIFIER, "VATSE-5560000000")], []
        ),
        "enterprise CA, a key that may not sign": made(pki, tmp_path, "g", "enterprise", ntrno, [], may_sign=False),
    }
    # A CA trusted for neither (the TLS handshake refuses it first; the classification does not lean on that).
    other = DevelopmentPki(tmp_path / "other")
    other.ensure(["lookup"])
    cases["another CA, an institution"] = other.institution("911222333")
    cases["another CA, a service"] = other.service("lookup")
    for case, identity in cases.items():
        assert identify(pki, identity) is None, case


def test_only_a_trusted_cas_revocation_list_counts(pki: DevelopmentPki, tmp_path: Path) -> None:
    lender = pki.institution("911222333")
    peer = identify(pki, lender)
    assert isinstance(peer, InstitutionPeer)
    # Another CA's list naming the same issuer and serial is not believed.
    forger = DevelopmentPki(tmp_path / "forger")
    forger.ensure([])
    forged = x509.load_pem_x509_crl(pki.enterprise_crl.read_bytes())
    builder = x509.CertificateRevocationListBuilder().issuer_name(forged.issuer)
    builder = builder.last_update(forged.last_update_utc).next_update(forged.next_update_utc)  # type: ignore[arg-type]
    builder = builder.add_revoked_certificate(
        x509.RevokedCertificateBuilder()
        .serial_number(peer.serial_number)
        .revocation_date(forged.last_update_utc)
        .build()
    )
    forger_key = forger._authority("enterprise").key
    crl_file = tmp_path / "crl.pem"
    crl_file.write_bytes(builder.sign(forger_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    authorities = load_bundle(pki.enterprise_ca)
    assert not Revocations(crl_file, authorities).revoked(peer)
    # The CA's own list is.
    pki.revoke(lender)
    assert Revocations(pki.enterprise_crl, authorities).revoked(peer)
