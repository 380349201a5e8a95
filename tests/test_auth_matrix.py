"""The auth matrix: every RPC of every service, discovered through reflection, against every kind of credential.

Each credential that should open nothing (none, plaintext, a certificate from another CA or expired, another
organisation's, a forged, expired, future, misdirected or scopeless token, another service's certificate, and
everything a bank received during a lookup) is refused on every RPC: at the TLS handshake, or with
UNAUTHENTICATED or PERMISSION_DENIED, never INTERNAL. Each valid credential is refused everywhere except where the
table below, written from the README's promise and not from the services' own rules, says it is allowed; there
it must get past the boundary (an empty request then fails validation, but not authentication), which shows the
matrix is not passing because everything is refused. Health checking and reflection are public by design and are
left out.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import ssl
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from gjeld_shared.certificates import Revocations, TlsIdentity, thumbprint
from gjeld_shared.tokens import Provider
from gjeld_tools.connect import secure_channel
from gjeld_tools.dev_identity import ISSUERS, audience
from gjeld_tools.dev_pki import LOCAL_NAMES, WORKLOAD_ID_PREFIX, DevelopmentPki
from gjeld_tools.testing import BANK, LENDER, PERSON, Method, Registry, discover, grant, look_up, reason, report_demo

STRANGER = "944555666"  # an organisation the operator has not admitted
CERTIFICATE_AND_TOKEN = {"institution certificate + token", "institution certificate + bound token"}
DELIVERY = {"institution certificate", "institution certificate + extract token", *CERTIFICATE_AND_TOKEN}
ALLOWED: dict[str, set[str]] = {
    **{
        f"/gjeld.ingest.v1.IngestService/{m}": DELIVERY
        for m in (
            "ReportDebtChanges StreamDebtChanges DeliverSnapshot GetDelivery ListDeliveries ListDeliveryRejections "
            "ListDebts ProposeHandover AcceptHandover"
        ).split()
    },
    "/gjeld.ingest.v1.IngestService/ListSubjectDebts": {"lookup's certificate"},
    "/gjeld.ingest.v1.IngestService/ReadExtract": {"lookup's certificate"},
    "/gjeld.ingest.v1.IngestService/ReadCorrectionOutcomes": {"lookup's certificate"},
    "/gjeld.ingest.v1.IngestService/ListDebtStatistics": {"portal's certificate", "institution statistics token"},
    **{
        f"/gjeld.ingest.v1.IngestService/{m}": {"person token"}
        for m in ("RequestCorrection", "ListOwnCorrectionRequests")
    },
    **{f"/gjeld.ingest.v1.IngestService/{m}": DELIVERY for m in ("ListCorrectionEvents", "AnswerCorrectionRequest")},
    "/gjeld.ingest.v1.IngestService/ListOverdueCorrectionRequests": {"operator token"},
    "/gjeld.ingest.v1.IngestService/ListStaleInstitutions": {"operator token"},
    "/gjeld.notify.v1.NotifyService/EnqueueInstitutionNotice": {"lookup's certificate"},
    "/gjeld.notify.v1.NotifyService/ListInstitutionNotices": DELIVERY,
    **{
        f"/gjeld.lookup.v1.LookupService/{m}": {"institution certificate + extract token"}
        for m in "SubmitCustomerList GetExtractOrder DownloadExtractPackage ConfirmExtractDeletion".split()
    },
    "/gjeld.lookup.v1.LookupService/RunExtractRound": {"operator token"},
    "/gjeld.lookup.v1.LookupService/ListOverdueExtracts": {"operator token"},
    "/gjeld.ingest.v1.IngestService/FetchSnapshot": {"operator token"},
    "/gjeld.lookup.v1.LookupService/LookUpDebt": CERTIFICATE_AND_TOKEN,
    "/gjeld.lookup.v1.LookupService/GetOwnDebt": {"person token"},
    "/gjeld.lookup.v1.LookupService/ListOwnDisclosures": {"person token"},
    "/gjeld.lookup.v1.LookupService/GetDisclosureProof": {"person token"},
    "/gjeld.lookup.v1.LookupService/ListFailedCopyLetters": {"operator token"},
    "/gjeld.lookup.v1.LookupService/RetryFailedCopyLetter": {"operator token"},
    **{
        f"/gjeld.consent.v1.ConsentService/{m}": {"person token"}
        for m in (
            "GrantConsent ListConsents ListConsentUses WithdrawConsent PlaceCreditBlock LiftCreditBlock GetCreditBlock"
            " PlaceIdentityTheftFlag LiftIdentityTheftFlag GetIdentityTheftFlag"
        ).split()
    },
    **{
        f"/gjeld.consent.v1.ConsentService/{m}": {"institution token"}
        for m in "RegisterConsent GetConsent EndConsent ListConsentEvents".split()
    },
    "/gjeld.consent.v1.ConsentService/UseConsent": {"lookup's certificate"},
    "/gjeld.consent.v1.ConsentService/ReleaseConsentUse": {"lookup's certificate"},
    "/gjeld.consent.v1.ConsentService/CheckCreditBlock": {"lookup's certificate"},
    "/gjeld.notify.v1.NotifyService/EnqueueNotice": {"lookup's certificate"},
    "/gjeld.notify.v1.NotifyService/BatchEnqueueNotices": {"lookup's certificate"},
    **{
        f"/gjeld.notify.v1.NotifyService/{m}": {"person token"}
        for m in "ListOwnNotices GetOwnNoticeLetter GetContactPreferences UpdateContactPreferences".split()
    },
    "/gjeld.notify.v1.NotifyService/ListFailedNotices": {"operator token"},
    "/gjeld.notify.v1.NotifyService/RetryFailedNotice": {"operator token"},
}
DENIED = {grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
HANDSHAKE = "refused at the TLS handshake"
EVERYWHERE = frozenset({"ingest", "lookup", "consent", "notify"})
# Enterprise certificates are trusted by the services that take institutions' certificates: ingest, lookup and notify
# (institutions read their notice feed there).
NO_ENTERPRISE_CA = frozenset({"consent"})


@dataclass
class Attempt:
    """One credential: which listener it goes to, with which client certificate and token (per audience)."""

    kind: str
    listener: str  # certificate, token, or plaintext (the token listener without TLS)
    certificate: TlsIdentity | None = None
    token: dict[str, str] = field(default_factory=dict)
    metadata: tuple[tuple[str, str | bytes], ...] = ()
    # The services whose TLS handshake refuses this credential (and only those).
    refused_by: frozenset[str] = frozenset()


def per_audience(mint: object) -> dict[str, str]:
    return {service: mint(audience(service)) for service in ("ingest", "lookup", "consent", "notify")}  # type: ignore[operator]


def forged(registry: Registry) -> dict[str, dict[str, str]]:
    """Bad tokens of both shapes (Maskinporten and ID-porten), each for every audience."""
    idp = registry.folder.identity
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    kid = {
        p: json.loads(idp.jwks_file(p).read_text())["keys"][-1]["kid"]
        for p in (Provider.MASKINPORTEN, Provider.IDPORTEN)
    }
    now = int(time.time())

    def claims(provider: Provider, aud: str) -> dict[str, object]:
        base: dict[str, object] = {"iss": ISSUERS[provider], "aud": aud, "iat": now, "exp": now + 120}
        if provider is Provider.MASKINPORTEN:
            return {**base, "consumer": {"ID": f"0192:{LENDER}"}, "scope": "gjeld:lookup"}
        return {**base, "pid": PERSON, "acr": "idporten-loa-high"}

    bad: dict[str, dict[str, str]] = {}
    for p in (Provider.MASKINPORTEN, Provider.IDPORTEN):
        shape = p.value
        bad[f"{shape} token with alg none"] = per_audience(
            lambda aud, p=p: jwt.encode(claims(p, aud), None, algorithm="none", headers={"kid": kid[p]})  # type: ignore[arg-type]
        )
        bad[f"{shape} token signed with another key"] = per_audience(
            lambda aud, p=p: jwt.encode(claims(p, aud), stranger_key, algorithm="RS256", headers={"kid": kid[p]})
        )
        bad[f"{shape} token expired"] = per_audience(
            lambda aud, p=p: idp.sign(p, {**claims(p, aud), "iat": now - 600, "exp": now - 300})
        )
        bad[f"{shape} token issued in the future"] = per_audience(
            lambda aud, p=p: idp.sign(p, {**claims(p, aud), "iat": now + 600, "exp": now + 700})
        )
        bad[f"{shape} token for another audience"] = per_audience(
            lambda aud, p=p: idp.sign(p, claims(p, "https://gjeld.dev/elsewhere"))
        )
        bad[f"{shape} token from another issuer"] = per_audience(
            lambda aud, p=p: jwt.encode(
                {**claims(p, aud), "iss": "https://issuer.example"},
                stranger_key,
                algorithm="RS256",
                headers={"kid": "x"},
            )
        )
    bad["maskinporten token without the scope"] = per_audience(lambda aud: idp.institution(LENDER, [], aud))
    bad["operator token without the scope"] = per_audience(
        lambda aud: idp.sign(Provider.OPERATOR, {"aud": aud, "sub": "ops-1"})
    )
    bad["idporten token at a lower level"] = per_audience(
        lambda aud: idp.subject(PERSON, aud, acr="idporten-loa-substantial")
    )
    return bad


async def bank_received(registry: Registry) -> tuple[tuple[str, str | bytes], ...]:
    """What a bank receives from the registry: asked live during a lookup, and for its snapshot (metadata; the
    registry's certificate is public)."""
    from gjeld.ingest.v1 import ingest_service_pb2

    bank, server, address = await registry.serve_bank([])
    try:
        await registry.configure_institutions(
            # ingest first: lookup, started after it, finds it serving (its pollers would otherwise meet it down and
            # back off for a second).
            {BANK: {"creditor_endpoint": address, "fetch_snapshot": True}},
            restart=["ingest", "lookup"],
        )
        await report_demo(registry)
        await grant(registry)
        await look_up(registry)
        await registry.ingest().FetchSnapshot(
            ingest_service_pb2.FetchSnapshotRequest(institution={"value": BANK}), metadata=registry.as_operator()
        )
    finally:
        await server.stop(0)
    assert len(bank.received) == 2, "the bank was not asked live and for its snapshot"
    metadata = [(k, v) for call, _ in bank.received for k, v in call]
    assert not any(k == "authorization" for k, _ in metadata), "a bearer token went out to a bank"
    # What a client may set again: no pseudo-headers or transport headers.
    return tuple((k, v) for k, v in metadata if not k.startswith((":", "grpc-")) and k not in ("user-agent", "te"))


def attempts(registry: Registry, tmp_path: Path, replay: tuple[tuple[str, str | bytes], ...]) -> list[Attempt]:
    pki, idp = registry.folder.pki, registry.folder.identity
    other_pki = DevelopmentPki(tmp_path / "other-pki")
    other_pki.ensure(["lookup"])
    expired_institution = pki.issue_institution(
        TlsIdentity(tmp_path / "expired.pem", tmp_path / "expired.key"), LENDER, expired=True
    )
    expired_service = pki.issue_service(
        TlsIdentity(tmp_path / "expired-lookup.pem", tmp_path / "expired-lookup.key"), "lookup", expired=True
    )
    # An enterprise CA (which the ingest and lookup listeners trust) issuing a certificate that claims lookup's
    # workload identity: only the workload CA makes services.
    impostor = pki.issue(
        TlsIdentity(tmp_path / "impostor.pem", tmp_path / "impostor.key"),
        "enterprise",
        [x509.NameAttribute(NameOID.COMMON_NAME, "gjeld-lookup")],
        [x509.UniformResourceIdentifier(f"{WORKLOAD_ID_PREFIX}lookup"), *LOCAL_NAMES],
    )
    lender, bank, stranger = pki.institution(LENDER), pki.institution(BANK), pki.institution(STRANGER)
    lender_token = per_audience(lambda aud: idp.institution(LENDER, ["gjeld:lookup"], aud))
    bank_thumbprint = thumbprint(x509.load_pem_x509_certificate(bank.certificate_file.read_bytes()))
    lender_thumbprint = thumbprint(x509.load_pem_x509_certificate(lender.certificate_file.read_bytes()))
    lender_bound = per_audience(lambda aud: idp.institution(LENDER, ["gjeld:lookup"], aud, bound_to=lender_thumbprint))
    found = [
        # Valid credentials: allowed only where ALLOWED says.
        Attempt("institution certificate", "certificate", bank, refused_by=NO_ENTERPRISE_CA),
        Attempt("institution certificate + token", "certificate", lender, lender_token, refused_by=NO_ENTERPRISE_CA),
        Attempt(
            "institution certificate + bound token", "certificate", lender, lender_bound, refused_by=NO_ENTERPRISE_CA
        ),
        Attempt(
            "institution certificate + extract token",
            "certificate",
            lender,
            per_audience(lambda aud: idp.institution(LENDER, ["gjeld:extract"], aud)),
            refused_by=NO_ENTERPRISE_CA,
        ),
        Attempt("institution token", "token", None, lender_token),
        Attempt("a bound token without its certificate", "token", None, lender_bound),
        Attempt("person token", "token", None, per_audience(lambda aud: idp.subject(PERSON, aud))),
        Attempt("operator token", "token", None, per_audience(lambda aud: idp.operator("ops-1", aud))),
        Attempt("lookup's certificate", "certificate", pki.service("lookup")),
        Attempt("portal's certificate", "certificate", pki.service("portal")),
        Attempt(
            "institution statistics token",
            "token",
            None,
            per_audience(lambda aud: idp.institution(LENDER, ["gjeld:statistics"], aud)),
        ),
        # Never allowed anywhere.
        Attempt("no credential", "token"),
        Attempt("no client certificate on the mutual-TLS listener", "certificate", refused_by=EVERYWHERE),
        Attempt("plaintext", "plaintext", refused_by=EVERYWHERE),
        Attempt("plaintext to the mutual-TLS listener", "plaintext-certificate", refused_by=EVERYWHERE),
        Attempt("plaintext with a valid token", "plaintext", None, lender_token, refused_by=EVERYWHERE),
        Attempt(
            "institution certificate from another CA",
            "certificate",
            other_pki.institution(LENDER),
            lender_token,
            refused_by=EVERYWHERE,
        ),
        Attempt(
            "service certificate from another CA", "certificate", other_pki.service("lookup"), refused_by=EVERYWHERE
        ),
        Attempt(
            "expired institution certificate", "certificate", expired_institution, lender_token, refused_by=EVERYWHERE
        ),
        Attempt("expired service certificate", "certificate", expired_service, refused_by=EVERYWHERE),
        Attempt(
            "certificate of an organisation not admitted",
            "certificate",
            stranger,
            per_audience(lambda aud: idp.institution(STRANGER, ["gjeld:lookup"], aud)),
            refused_by=NO_ENTERPRISE_CA,
        ),
        Attempt(
            "token of an organisation not admitted",
            "token",
            None,
            per_audience(lambda aud: idp.institution(STRANGER, ["gjeld:lookup"], aud)),
        ),
        Attempt(
            "certificate of one organisation, token of another",
            "certificate",
            bank,
            lender_token,
            refused_by=NO_ENTERPRISE_CA,
        ),
        Attempt(
            "token bound to another certificate",
            "certificate",
            lender,
            per_audience(lambda aud: idp.institution(LENDER, ["gjeld:lookup"], aud, bound_to=bank_thumbprint)),
            refused_by=NO_ENTERPRISE_CA,
        ),
        Attempt("another service's certificate (notify)", "certificate", pki.service("notify")),
        Attempt("another service's certificate (ingest)", "certificate", pki.service("ingest")),
        Attempt(
            "lookup's workload identity from an enterprise CA", "certificate", impostor, refused_by=NO_ENTERPRISE_CA
        ),
        Attempt("what a bank received, replayed", "token", metadata=replay),
        Attempt(
            "what a bank received, replayed with another certificate",
            "certificate",
            stranger,
            metadata=replay,
            refused_by=NO_ENTERPRISE_CA,
        ),
    ]
    for kind, tokens in forged(registry).items():
        found.append(Attempt(kind, "token", None, tokens))
        if "without the scope" not in kind:  # a valid token without the scope rightly rides along a certificate
            found.append(
                Attempt(f"{kind}, with a valid certificate", "certificate", lender, tokens, refused_by=NO_ENTERPRISE_CA)
            )
    return found


async def test_every_rpc_refuses_every_credential_it_should(
    registry: Registry, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    methods = await discover(registry)
    assert {m.path for m in methods} == set(ALLOWED), "the matrix's table and the served RPCs differ"
    replay = await bank_received(registry)
    channels: dict[tuple[str, str, str], grpc.aio.Channel] = {}

    def channel(service: str, attempt: Attempt) -> grpc.aio.Channel:
        key = (service, attempt.listener, str(attempt.certificate))
        if key not in channels:
            listeners = registry.listeners[service]
            if attempt.listener.startswith("plaintext"):
                target = listeners["certificate" if attempt.listener.endswith("certificate") else "token"]
                channels[key] = grpc.aio.insecure_channel(target)
            else:
                pki = registry.folder.pki
                channels[key] = secure_channel(listeners[attempt.listener], pki.workload_ca, attempt.certificate)
        return channels[key]

    async def once(method: Method, attempt: Attempt) -> grpc.StatusCode:
        metadata = list(attempt.metadata)
        if attempt.token:
            metadata.append(("authorization", f"Bearer {attempt.token[method.service]}"))
        target = channel(method.service, attempt)
        try:
            if method.client_streaming:

                async def one() -> AsyncIterator[bytes]:
                    yield b""

                await target.stream_unary(method.path)(one(), metadata=metadata, timeout=10)
            else:
                await target.unary_unary(method.path)(b"", metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    outcomes: Counter[str] = Counter()
    try:
        for attempt in attempts(registry, tmp_path, replay):
            for method in methods:
                code = await once(method, attempt)
                assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (attempt.kind, method.path)
                if attempt.kind in ALLOWED[method.path]:
                    assert code not in DENIED and code != grpc.StatusCode.UNAVAILABLE, (attempt.kind, method.path, code)
                    outcomes["allowed (past the boundary)"] += 1
                elif method.service in attempt.refused_by:
                    assert code == grpc.StatusCode.UNAVAILABLE, (attempt.kind, method.path, code)
                    outcomes[HANDSHAKE] += 1
                else:
                    assert code in DENIED, (attempt.kind, method.path, code)
                    outcomes[code.name] += 1
    finally:
        for open_channel in channels.values():
            await open_channel.close()
    kinds = len(attempts(registry, tmp_path, replay))
    with capsys.disabled():  # the counts belong in `make test`'s output
        print(f"\nauth matrix: {len(methods)} RPCs × {kinds} credential kinds = {sum(outcomes.values())} calls")
        for outcome, count in sorted(outcomes.items()):
            print(f"  {outcome:<30} {count:>5}")
    assert outcomes["allowed (past the boundary)"] == sum(len(allowed) for allowed in ALLOWED.values())


def test_the_readmes_table_is_the_access_rules() -> None:
    """The README's table of every RPC and its credential says what the services' ACCESS rules enforce."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    table = set(re.findall(r"^\| (\w+) \| `(\w+)` \| ([^|]+?) \|$", readme, flags=re.M))
    rules = set()
    for service in ("ingest", "lookup", "consent", "notify"):
        access = __import__(f"gjeld_{service}.entrypoints", fromlist=["ACCESS"]).ACCESS
        rules |= {(service, method, rule.credential) for method, rule in access.items()}
    assert table == rules


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
async def test_tls_older_than_1_2_gets_no_handshake(registry: Registry) -> None:
    host, port = registry.listeners["lookup"]["token"].rsplit(":", 1)

    def handshake(version: ssl.TLSVersion) -> str:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(registry.folder.pki.workload_ca)
        context.set_ciphers("ALL:@SECLEVEL=0")  # let this client offer what it can; the server must refuse
        context.minimum_version = context.maximum_version = version
        context.set_alpn_protocols(["h2"])
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            try:
                with context.wrap_socket(raw, server_hostname=host) as tls:
                    return str(tls.version())
            except ssl.SSLError as refused:
                # The server's alert, not this client's inability (this client can speak TLS 1.0 and 1.1).
                return f"refused: {refused.reason}"

    assert await asyncio.to_thread(handshake, ssl.TLSVersion.TLSv1_2) == "TLSv1.2"
    # gRPC's TLS logs UNSUPPORTED_PROTOCOL and closes the connection (or alerts).
    server_refusals = {"refused: UNEXPECTED_EOF_WHILE_READING", "refused: TLSV1_ALERT_PROTOCOL_VERSION"}
    assert await asyncio.to_thread(handshake, ssl.TLSVersion.TLSv1_1) in server_refusals
    assert await asyncio.to_thread(handshake, ssl.TLSVersion.TLSv1) in server_refusals


async def test_a_revoked_enterprise_certificate_is_refused_without_a_restart(registry: Registry) -> None:
    await report_demo(registry)  # Fjordbanken delivers with its certificate
    await grant(registry)
    assert (await look_up(registry)).debts  # Nordlys Kreditt looks up with its certificate and token
    Revocations.RECHECK_SECONDS, saved = 0.0, Revocations.RECHECK_SECONDS
    try:
        registry.folder.pki.revoke(registry.folder.pki.institution(LENDER))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await look_up(registry)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason(refused.value) == "CERTIFICATE_REVOKED"
        # Other institutions' certificates still open what they may.
        assert (await report_demo(registry, "after the revocation")).delivery.registered_count == 4
    finally:
        Revocations.RECHECK_SECONDS = saved


async def test_outside_callers_may_be_shown_a_public_certificate(registry: Registry, tmp_path: Path) -> None:
    """A service given a certificate for its public name presents it to clients that ask for that name (SNI), and
    its workload certificate to everyone else; a client trusting only the public CA reaches it by that name."""
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    pki = registry.folder.pki
    public = pki.issue(
        TlsIdentity(tmp_path / "public.pem", tmp_path / "public.key"),
        "enterprise",  # stands for a public CA here
        [x509.NameAttribute(NameOID.COMMON_NAME, "lookup.gjeld.example")],
        [x509.DNSName("lookup.gjeld.example")],
    )
    await registry.restart(
        "lookup", public_tls_certificate_file=public.certificate_file, public_tls_key_file=public.key_file
    )

    async def reaches(authorities: Path, name: str | None) -> bool:
        options = [("grpc.ssl_target_name_override", name)] if name else []
        credentials = grpc.ssl_channel_credentials(authorities.read_bytes())
        async with grpc.aio.secure_channel(registry.listeners["lookup"]["token"], credentials, options=options) as ch:
            try:
                await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5)
            except grpc.aio.AioRpcError:
                return False
            return True

    assert await reaches(pki.enterprise_ca, "lookup.gjeld.example")  # the public certificate, by its name
    assert not await reaches(pki.enterprise_ca, None)  # no name asked: the workload certificate, not that CA's
    assert await reaches(pki.workload_ca, None)
    # Lenders still look up, and lookup still reaches its neighbours with its workload certificate.
    await report_demo(registry)
    await grant(registry)
    assert (await look_up(registry)).debts


async def test_the_plaintext_health_port_serves_health_alone(registry: Registry) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    methods = await discover(registry)
    for service, listeners in registry.listeners.items():
        async with grpc.aio.insecure_channel(listeners["health"]) as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
            for method in (m for m in methods if m.service == service):
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await channel.unary_unary(method.path)(b"", timeout=5)
                assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED, method.path
