"""`gjeld`: the registry from the command line.

  gjeld up                                   start the whole registry on the embedded PostgreSQL
  gjeld demo                                 tell the whole story against the running registry
  gjeld token institution ORG --api SERVICE  a development Maskinporten token for an institution
  gjeld token subject NUMBER --api SERVICE   a development ID-porten token for a person
  gjeld cert institution ORG                 a development enterprise certificate for an institution
  gjeld report FILE [--snapshot] [--partial] send a file in the Norwegian (NOGI) format as one delivery
  gjeld consent grant ORG --as-subject N     give an institution consent to look you up
  gjeld consent list|withdraw ID --as-subject N
  gjeld flag place [--until DATE]|lift|show --as-subject N   an identity-theft flag: lenders warned, you alerted
  gjeld lookup NUMBER --as-institution ORG   a lender's lookup (with the person's consent)
  gjeld my debt|consents|disclosures|notices --as-subject N
  gjeld correction request ORG ACCOUNT --reason TEXT --as-subject N   ask for a debt to be corrected
  gjeld correction list --as-subject N                                 your requests and their answers
  gjeld correction feed|notices --as-institution ORG                   an institution's requests, its notices
  gjeld correction answer ID [--reject R|--forward ORG] --as-institution ORG
  gjeld trace TRACE_ID                       a lookup's trace as a tree across the services
  gjeld audit verify                         the disclosure log against its signed checkpoints

Identity: --as-institution (a development enterprise certificate and Maskinporten token)
and --as-subject (a development ID-porten token) use the development CAs and identity
providers under .data/secrets; elsewhere pass --certificate/--key (an enterprise
certificate), --token (or GJELD_TOKEN) and --ca (the CA of the registry's certificates).
Every call goes over TLS.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import grpc
from gjeld.consent.v1 import consent_pb2, consent_service_pb2, consent_service_pb2_grpc
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2, ingest_service_pb2_grpc
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2, lookup_service_pb2_grpc
from gjeld.notify.v1 import notify_service_pb2, notify_service_pb2_grpc
from gjeld.type.v1 import debt_pb2, identity_pb2
from gjeld_lookup.extracts import quarter_of, today
from gjeld_notify.letters import ROLE_NAMES, TYPE_NAMES, kroner
from gjeld_shared import errors
from gjeld_shared.callers import SCOPE_EXTRACT, SCOPE_LOOKUP, SCOPE_STATISTICS
from gjeld_shared.certificates import TlsIdentity
from gjeld_shared.timestamps import to_proto
from gjeld_shared.translations import through
from google.protobuf import duration_pb2
from google.protobuf.message import Message

from . import devstack, nogi, report, traces
from .connect import Credential, channel_for
from .dev_identity import audience


class Failure(Exception):
    """A call failed; the message says how, for a person."""


def data_folder() -> devstack.DataFolder:
    return devstack.DataFolder(Path(os.environ.get("GJELD_DATA", ".data")).resolve())


def listen_addresses(service: str) -> dict[str, str]:
    """Where a service listens, by listener: GJELD_<SERVICE>_ADDRESS (mutual TLS), …_TOKEN_ADDRESS (TLS for
    tokens) and …_HEALTH_ADDRESS (plaintext health), each defaulting to the development ports."""
    default = devstack.DEFAULT_ADDRESSES[service]
    prefix = f"GJELD_{service.upper()}"
    return {
        "certificate": os.environ.get(f"{prefix}_ADDRESS", default["certificate"]),
        "token": os.environ.get(f"{prefix}_TOKEN_ADDRESS", default["token"]),
        "health": os.environ.get(f"{prefix}_HEALTH_ADDRESS", default["health"]),
    }


def server_authorities(args: argparse.Namespace) -> Path:
    """The CA that the registry's certificates chain to: --ca, GJELD_CA_FILE, or the development workload CA."""
    given = getattr(args, "ca", None) or os.environ.get("GJELD_CA_FILE")
    return Path(given) if given else data_folder().pki.workload_ca


def credential(args: argparse.Namespace) -> Credential:
    """Who the command calls as: a development institution or person, or the certificate and token given."""
    folder = data_folder()
    if getattr(args, "as_institution", None):
        number = args.as_institution
        providers = folder.identity
        return Credential(
            folder.pki.institution(number),
            lambda aud: providers.institution(number, [SCOPE_LOOKUP, SCOPE_EXTRACT], aud),
        )
    if getattr(args, "as_operator", None):
        staff, providers = args.as_operator, folder.identity
        return Credential(token=lambda aud: providers.operator(staff, aud))
    if getattr(args, "as_subject", None):
        person, providers = args.as_subject, folder.identity
        return Credential(token=lambda aud: providers.subject(person, aud))
    certificate = None
    if getattr(args, "certificate", None) and getattr(args, "key", None):
        certificate = TlsIdentity(Path(args.certificate), Path(args.key))
    given = getattr(args, "token", None) or os.environ.get("GJELD_TOKEN")
    if certificate is None and not given:
        raise Failure(
            "say who you are: --as-institution ORG, --as-subject NUMBER, or --certificate/--key and/or --token"
        )
    return Credential(certificate, (lambda aud: str(given)) if given else None)


Request = TypeVar("Request", bound=Message)
Response = TypeVar("Response")


async def call(
    service: str,
    args: argparse.Namespace,
    method: Callable[[grpc.aio.Channel], grpc.aio.UnaryUnaryMultiCallable[Request, Response]],
    request: Request,
    timeout: float = 10.0,
) -> Response:
    """Call `method` (a typed stub's, on a channel to `service`) with `request` as the command's caller."""
    caller = credential(args)
    async with channel_for(service, listen_addresses(service), caller, server_authorities(args)) as channel:
        try:
            return await method(channel)(request, timeout=timeout, metadata=caller.metadata(service))
        except grpc.RpcError as error:
            remote = errors.decode(error)
            detail = "".join(f"\n  {v.field}: {v.description}" for v in remote.field_violations)
            name = request.DESCRIPTOR.name.removesuffix("Request")
            raise Failure(f"{name} refused: {remote.code.name} {remote.reason}{detail}") from None


def describe(debt: debt_pb2.DisclosedDebt | lookup_pb2.OwnDebt) -> str:
    kind = debt.WhichOneof("terms")
    role = ROLE_NAMES.get(debt.co_borrower_role, "")
    if kind == "repayment_loan":
        t = debt.repayment_loan
        text = (
            f"repayment loan   balance {kroner(t.balance.minor_units):>16}"
            f"  of {kroner(t.original_balance.minor_units)},"
            f" {t.remaining_term_months} months, {t.nominal_interest_rate_bp / 100:.2f} %"
        )
    elif kind == "credit_facility":
        f = debt.credit_facility
        used = f.interest_bearing_balance.minor_units + f.non_interest_bearing_balance.minor_units
        text = (
            f"credit facility  balance {kroner(used):>16}  limit {kroner(f.credit_limit.minor_units)},"
            f" {f.nominal_interest_rate_bp / 100:.2f} %"
        )
    else:
        c = debt.charge_card
        used = c.interest_bearing_balance.minor_units + c.non_interest_bearing_balance.minor_units
        text = f"charge card      balance {kroner(used):>16}"
    marks = ("  DISPUTED: a correction request is open" if debt.disputed else "") + (
        "  STALE: its creditor has not confirmed it lately" if debt.stale else ""
    )
    return f"{text}  [{role}]{marks}"


def print_totals(totals: Sequence[debt_pb2.DebtTotal]) -> None:
    for total in totals:
        print(
            f"    {TYPE_NAMES.get(total.debt_type, '?'):<18} {total.debt_count} debt(s),"
            f" balance {kroner(total.balance.minor_units)}"
        )


# --- commands --------------------------------------------------------------------------------------------------


async def cmd_report(args: argparse.Namespace) -> str:
    """Send a NOGI delivery file as one delivery; returns the summary."""
    path = Path(args.file)
    with path.open("rb") as file:
        provider = nogi.provider(file)
    institution = args.as_institution or provider
    if not institution and not args.certificate:
        raise Failure("say which institution delivers: --as-institution ORG (the file has no providerID)")
    if institution and not args.as_institution and not args.certificate:
        args.as_institution = institution
    caller = credential(args)
    try:
        async with channel_for("ingest", listen_addresses("ingest"), caller, server_authorities(args)) as channel:
            return await report.send(
                path,
                channel,
                institution or "",
                snapshot=args.snapshot,
                partial=args.partial,
                request_id=args.request_id,
            )
    except report.Refused as refused:
        raise Failure(str(refused)) from None


async def cmd_grant(args: argparse.Namespace) -> consent_pb2.Consent:
    request = consent_service_pb2.GrantConsentRequest(
        institution=identity_pb2.OrganizationNumber(value=args.institution),
        scope=consent_pb2.CONSENT_SCOPE_PRESENTATION
        if args.scope == "presentation"
        else consent_pb2.CONSENT_SCOPE_PROCESSING,
        request_id=os.urandom(16).hex(),
    )
    if args.days:
        request.validity.CopyFrom(duration_pb2.Duration(seconds=int(args.days * 86400)))
    reply = await call("consent", args, lambda c: consent_service_pb2_grpc.ConsentServiceStub(c).GrantConsent, request)
    consent: consent_pb2.Consent = reply.consent
    print(
        f"consent {consent.id} for {consent.institution.value} ({consent_pb2.ConsentScope.Name(consent.scope)}), "
        f"valid until {consent.expire_time.ToDatetime():%Y-%m-%d %H:%M} UTC"
    )
    return consent


async def cmd_consents(args: argparse.Namespace) -> None:
    reply = await call(
        "consent",
        args,
        lambda c: consent_service_pb2_grpc.ConsentServiceStub(c).ListConsents,
        consent_service_pb2.ListConsentsRequest(),
    )
    for c in reply.consents:
        print(
            f"  {c.id}  {c.institution.value}  {consent_pb2.ConsentState.Name(c.state)}  "
            f"until {c.expire_time.ToDatetime():%Y-%m-%d %H:%M}  used {c.use_count} time(s)"
        )
        for use in c.uses:
            print(f"      used {use.use_time.ToDatetime():%Y-%m-%d %H:%M:%S} UTC for disclosure {use.disclosure_id}")


async def cmd_withdraw(args: argparse.Namespace) -> None:
    reply = await call(
        "consent",
        args,
        lambda c: consent_service_pb2_grpc.ConsentServiceStub(c).WithdrawConsent,
        consent_service_pb2.WithdrawConsentRequest(consent_id=args.consent_id),
    )
    print(f"consent {reply.consent.id} is now {consent_pb2.ConsentState.Name(reply.consent.state)}")


async def cmd_lookup(args: argparse.Namespace) -> lookup_service_pb2.LookUpDebtResponse:
    reply: lookup_service_pb2.LookUpDebtResponse = await call(
        "lookup",
        args,
        lambda c: lookup_service_pb2_grpc.LookupServiceStub(c).LookUpDebt,
        lookup_service_pb2.LookUpDebtRequest(
            subject=identity_pb2.NationalIdentityNumber(value=args.subject),
            purpose=lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT,
            application_reference=args.reference or "",
        ),
    )
    print(f"  disclosure {reply.disclosure.id}, trace {reply.disclosure.trace_id}")
    if reply.identity_theft_flag:
        print("    WARNING: the person has flagged identity theft: verify the applicant's identity with extra care")
    if reply.credit_blocked:
        print("    the person has a credit block: nothing else is disclosed (DOM-12)")
        return reply
    print(f"  creditors asked live: {reply.creditors_answered} answered, {reply.creditors_missing} missing")
    for creditor in reply.creditors:
        answer = lookup_pb2.CreditorAnswer.Name(creditor.answer).removeprefix("CREDITOR_ANSWER_").lower()
        print(
            f"    creditor {creditor.creditor_number}: {answer}, "
            f"confirmed {creditor.confirm_time.ToDatetime():%Y-%m-%d %H:%M:%S} UTC"
        )
    for debt in reply.debts:
        print(f"    [creditor {debt.creditor_number}] {describe(debt)}")
    if reply.withheld_stale_count:
        print(
            f"    {reply.withheld_stale_count} debt(s) withheld: not confirmed by their creditor for too long (DOM-8)"
        )
    print_totals(reply.totals)
    return reply


async def cmd_flag(args: argparse.Namespace) -> consent_pb2.IdentityTheftFlag:
    """A person's identity-theft flag: placed (until a date, through its last day in Norway), lifted or shown."""
    stub = consent_service_pb2_grpc.ConsentServiceStub
    if args.action == "place":
        request = consent_service_pb2.PlaceIdentityTheftFlagRequest()
        if args.until:
            end = through(args.until)
            if end is None:
                raise Failure(f"--until: {args.until!r} is not a date (YYYY-MM-DD)")
            request.end_time.CopyFrom(to_proto(end))
        flag = (await call("consent", args, lambda c: stub(c).PlaceIdentityTheftFlag, request)).identity_theft_flag
    elif args.action == "lift":
        request_lift = consent_service_pb2.LiftIdentityTheftFlagRequest()
        flag = (await call("consent", args, lambda c: stub(c).LiftIdentityTheftFlag, request_lift)).identity_theft_flag
    else:
        request_get = consent_service_pb2.GetIdentityTheftFlagRequest()
        flag = (await call("consent", args, lambda c: stub(c).GetIdentityTheftFlag, request_get)).identity_theft_flag
    if flag.flagged:
        print(f"identity-theft flag in place until {flag.end_time.ToDatetime():%Y-%m-%d %H:%M} UTC")
    else:
        print("no identity-theft flag")
    return flag


async def cmd_my(args: argparse.Namespace) -> None:
    if args.what == "debt":
        reply = await call(
            "lookup",
            args,
            lambda c: lookup_service_pb2_grpc.LookupServiceStub(c).GetOwnDebt,
            lookup_service_pb2.GetOwnDebtRequest(),
        )
        print(f"  creditors asked live: {reply.creditors_answered} answered, {reply.creditors_missing} missing")
        for debt in reply.debts:
            print(
                f"    {debt.creditor.name:<20} {debt.account_id:<10} {describe(debt)}  "
                f"(confirmed {debt.confirm_time.ToDatetime():%Y-%m-%d %H:%M})"
            )
        print_totals(reply.totals)
    elif args.what == "consents":
        await cmd_consents(args)
    elif args.what == "disclosures":
        listed = await call(
            "lookup",
            args,
            lambda c: lookup_service_pb2_grpc.LookupServiceStub(c).ListOwnDisclosures,
            lookup_service_pb2.ListOwnDisclosuresRequest(),
        )
        for d in listed.disclosures:
            who = d.recipient.name or "you yourself"
            print(
                f"    {d.disclose_time.ToDatetime():%Y-%m-%d %H:%M:%S} UTC  {who:<20} "
                f"{lookup_pb2.DisclosurePurpose.Name(d.purpose).removeprefix('DISCLOSURE_PURPOSE_').lower():<18}"
                f" {d.debt_count} debt(s)  consent {d.consent_id or '-'}"
            )
    else:
        notices = await call(
            "notify",
            args,
            lambda c: notify_service_pb2_grpc.NotifyServiceStub(c).ListOwnNotices,
            notify_service_pb2.ListOwnNoticesRequest(),
        )
        mailbox = data_folder().mailbox
        for n in notices.notices:
            files = list(mailbox.glob(f"*/*/{n.id}.*"))
            where = f"  {files[0]}" if files else ""
            if n.HasField("correction_outcome"):
                made = "made" if n.correction_outcome.corrected else "rejected"
                what = f"correction {made} by {n.correction_outcome.creditor.name}"
            elif n.HasField("identity_theft_alert"):
                what = f"identity-theft alert: looked up by {n.identity_theft_alert.recipient.name}"
            else:
                what = f"copy letter for {n.copy_letter.recipient.name}"
            print(
                f"    {n.create_time.ToDatetime():%Y-%m-%d %H:%M:%S} UTC  {what}"
                f"  {'delivered' if n.HasField('deliver_time') else 'pending'}{where}"
            )


def cmd_trace(args: argparse.Namespace) -> None:
    spans = traces.spans_of(args.trace_id, data_folder().traces)
    if not spans:
        raise Failure(
            f"no spans of trace {args.trace_id} under {data_folder().traces} (yet: they are written every 0.5 s)"
        )
    print("\n".join(traces.tree(spans)))


def cmd_token(args: argparse.Namespace) -> None:
    providers, aud = data_folder().identity, audience(args.api)
    if args.kind == "institution":
        print(providers.institution(args.who, args.scope or [SCOPE_LOOKUP], aud, args.ttl))
    elif args.kind == "subject":
        print(providers.subject(args.who, aud, args.ttl))
    else:
        print(providers.operator(args.who, aud, args.ttl))


def cmd_cert(args: argparse.Namespace) -> None:
    identity = data_folder().pki.institution(args.organization_number)
    print(f"certificate {identity.certificate_file}\nkey         {identity.key_file}")


def describe_order(order: lookup_pb2.ExtractOrder) -> str:
    state = lookup_pb2.ExtractOrderState.Name(order.state).removeprefix("EXTRACT_ORDER_STATE_").lower()
    lines = [
        f"order {order.id} for {order.quarter}: {state}",
        f"  listed {order.listed_count}, invalid {order.invalid_count}, listed twice {order.duplicate_count}",
    ]
    if order.failure:
        lines.append(f"  the list could not be read: {order.failure}")
    if order.HasField("manifest"):
        m = order.manifest
        lines.append(f"  customers {order.customer_count}, not customers {order.not_customer_count}")
        lines.append(
            f"  package {m.package_id}: {m.record_count} customers, {m.size:,} bytes, cut at "
            f"{m.snapshot_time.ToDatetime().isoformat()}Z; delete by {m.delete_deadline.ToDatetime().date()}"
        )
    return "\n".join(lines)


async def cmd_extract(args: argparse.Namespace) -> None:
    caller = credential(args)
    stub_call = lookup_service_pb2_grpc.LookupServiceStub
    async with channel_for("lookup", listen_addresses("lookup"), caller, server_authorities(args)) as channel:
        stub, metadata = stub_call(channel), caller.metadata("lookup")
        try:
            if args.action == "order":
                path = Path(args.file)
                if not path.stem.isdigit() or (args.as_institution and path.stem != args.as_institution):
                    raise Failure(f"the list is named after the institution that hands it in: {path.name}")
                header = lookup_service_pb2.CustomerListHeader(quarter=quarter_of(today()))

                def parts() -> Iterator[lookup_service_pb2.SubmitCustomerListRequest]:
                    yield lookup_service_pb2.SubmitCustomerListRequest(header=header)
                    with path.open("rb") as listed:
                        while piece := listed.read(1 << 20):
                            yield lookup_service_pb2.SubmitCustomerListRequest(list_file=piece)

                reply = await stub.SubmitCustomerList(parts(), metadata=metadata, timeout=600)
                print(describe_order(reply.order))
            elif args.action == "status":
                got = await stub.GetExtractOrder(
                    lookup_service_pb2.GetExtractOrderRequest(order_id=args.order_id), metadata=metadata, timeout=10
                )
                print(describe_order(got.order))
            elif args.action == "download":
                digest, manifest = hashlib.sha256(), None
                with Path(args.out).open("wb") as out:
                    request = lookup_service_pb2.DownloadExtractPackageRequest(order_id=args.order_id)
                    async for part in stub.DownloadExtractPackage(request, metadata=metadata, timeout=600):
                        if part.WhichOneof("part") == "manifest":
                            manifest = part.manifest
                        else:
                            out.write(part.chunk)
                            digest.update(part.chunk)
                if manifest is None or digest.digest() != manifest.sha256:
                    raise Failure("the package does not match its manifest's digest: download it again")
                print(f"{args.out}: {manifest.record_count} customers, matches the manifest (key {manifest.key_id})")
            elif args.action == "delete":
                done = await stub.ConfirmExtractDeletion(
                    lookup_service_pb2.ConfirmExtractDeletionRequest(order_id=args.order_id), metadata=metadata
                )
                print(describe_order(done.order))
            else:
                cut = await stub.RunExtractRound(lookup_service_pb2.RunExtractRoundRequest(), metadata=metadata)
                print(f"round {cut.round_id or '(no order waited)'}: {len(cut.orders)} packages")
                for order in cut.orders:
                    print(describe_order(order))
        except grpc.RpcError as error:
            remote = errors.decode(error)
            detail = "".join(f"\n  {v.field}: {v.description}" for v in remote.field_violations)
            raise Failure(f"extract {args.action} refused: {remote.code.name} {remote.reason}{detail}") from None


def describe_correction(request: ingest_pb2.CorrectionRequest) -> str:
    state = ingest_pb2.CorrectionState.Name(request.state).removeprefix("CORRECTION_STATE_").lower()
    lines = [
        f"correction {request.id}: {state}, owned by {request.owner.value}"
        + (f" (forwarded by {request.forwarded_by.value})" if request.forwarded_by.value else ""),
        f"  debt {request.account_id} at {request.creditor_institution.name or request.creditor.value},"
        f" due {request.due_time.ToDatetime():%Y-%m-%d}",
    ]
    if request.reason:
        lines.append(f"  reason: {request.reason}")
    if request.answer:
        lines.append(f"  answer: {request.answer}")
    return "\n".join(lines)


async def cmd_correction(args: argparse.Namespace) -> None:
    """Corrections (DOM-14): a person asks and reads the answers; an institution reads its feed and answers."""
    ingest = ingest_service_pb2_grpc.IngestServiceStub
    if args.action == "request":
        made = await call(
            "ingest",
            args,
            lambda c: ingest(c).RequestCorrection,
            ingest_service_pb2.RequestCorrectionRequest(
                creditor=identity_pb2.OrganizationNumber(value=args.creditor),
                account_id=args.account_id,
                reason=args.reason,
            ),
        )
        print(describe_correction(made.correction_request))
    elif args.action == "list":
        own = await call(
            "ingest",
            args,
            lambda c: ingest(c).ListOwnCorrectionRequests,
            ingest_service_pb2.ListOwnCorrectionRequestsRequest(),
        )
        for request in own.correction_requests:
            print(describe_correction(request))
    elif args.action == "feed":
        feed = await call(
            "ingest",
            args,
            lambda c: ingest(c).ListCorrectionEvents,
            ingest_service_pb2.ListCorrectionEventsRequest(after_position=args.after),
        )
        for event in feed.events:
            kind = ingest_pb2.CorrectionEventType.Name(event.type).removeprefix("CORRECTION_EVENT_TYPE_").lower()
            print(f"{event.position:>6} {kind:<12} {describe_correction(event.request)}")
        print(f"read on after position {feed.next_after_position}")
    elif args.action == "answer":
        answer = ingest_service_pb2.AnswerCorrectionRequestRequest(id=args.correction_id)
        if args.forward:
            answer.forwarded.institution.value = args.forward
        elif args.reject:
            answer.rejected.reason = args.reject
        else:
            answer.corrected.SetInParent()
            answer.corrected.delivery_id = args.delivery or ""
            answer.corrected.description = args.description or ""
        done = await call("ingest", args, lambda c: ingest(c).AnswerCorrectionRequest, answer)
        print(describe_correction(done.correction_request))
    elif args.action == "overdue":
        late = await call(
            "ingest",
            args,
            lambda c: ingest(c).ListOverdueCorrectionRequests,
            ingest_service_pb2.ListOverdueCorrectionRequestsRequest(),
        )
        for request in late.correction_requests:
            print(describe_correction(request))
    else:
        notices = await call(
            "notify",
            args,
            lambda c: notify_service_pb2_grpc.NotifyServiceStub(c).ListInstitutionNotices,
            notify_service_pb2.ListInstitutionNoticesRequest(after_position=args.after),
        )
        for notice in notices.notices:
            if notice.HasField("extract_deletion"):
                r = notice.extract_deletion
                print(
                    f"{notice.position:>6} extract package {r.package_id} (order {r.order_id}): delete it by"
                    f" {r.delete_deadline.ToDatetime():%Y-%m-%d} and confirm (gjeld extract delete)"
                )
                continue
            n = notice.correction
            print(
                f"{notice.position:>6} correction {n.correction_id}: your disclosure {n.disclosure_id} of"
                f" {n.disclose_time.ToDatetime():%Y-%m-%d %H:%M} (reference {n.application_reference or '-'})"
                f" held data corrected at {n.correct_time.ToDatetime():%Y-%m-%d %H:%M}"
            )
        print(f"read on after position {notices.next_after_position}")


async def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Verify the disclosure log against its signed checkpoints (DOM-15): every entry, the tree, each signature."""
    import asyncpg
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    from gjeld_lookup import audit

    folder = data_folder()
    url = args.database_url or os.environ.get("GJELD_LOOKUP_DATABASE_URL")
    if not url:  # development: the embedded PostgreSQL's socket, as its postmaster.pid says
        pid = folder.pgdata / "postmaster.pid"
        if not pid.exists():
            raise Failure("no database: pass --database-url (or run `make up` for the development one)")
        url = f"postgresql://{devstack.role('lookup')}@/gjeld?host={pid.read_text().splitlines()[4]}"
    checkpoints = Path(args.checkpoints or folder.root / "audit" / "checkpoints.jsonl")
    key_file = Path(args.signing_key or folder.extract_signing_key)
    if args.public_key:
        public = serialization.load_pem_public_key(Path(args.public_key).read_bytes())
    else:
        public = serialization.load_pem_private_key(key_file.read_bytes(), password=None).public_key()
    if not isinstance(public, ed25519.Ed25519PublicKey):
        raise Failure("the registry's key must be an Ed25519 key")
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await connection.fetch("SELECT position, entry, leaf_hash FROM lookup.audit_log ORDER BY position")
    finally:
        await connection.close()
    leaves = [audit.Leaf(r["position"], bytes(r["entry"]), bytes(r["leaf_hash"])) for r in rows]
    signed = [audit.Checkpoint.from_json(line) for line in checkpoints.read_text().splitlines() if line]
    problems = audit.verify(leaves, signed, public)
    for problem in problems:
        print(f"  TAMPERED: {problem}")
    covered = max((c.size for c in signed), default=0)
    print(f"{len(leaves)} entries, {len(signed)} checkpoints: {'NOT as signed' if problems else 'as signed'}")
    if len(leaves) > covered:
        print(f"  {len(leaves) - covered} entries after the last checkpoint: the next one covers them")
    return 1 if problems else 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="gjeld", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = top.add_subparsers(dest="command", required=True)

    def who(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--as-institution", metavar="ORG", help="a development institution (certificate and token)")
        p.add_argument("--as-subject", metavar="NUMBER", help="a development person (ID-porten token)")
        p.add_argument("--certificate", metavar="PEM", help="an enterprise certificate (with --key)")
        p.add_argument("--key", metavar="PEM", help="the certificate's private key")
        p.add_argument("--token", help="a bearer token for the called API (or GJELD_TOKEN)")
        p.add_argument("--ca", metavar="PEM", help="the CA of the registry's certificates (or GJELD_CA_FILE)")
        return p

    sub.add_parser("up", help="start the registry on the embedded PostgreSQL")
    sub.add_parser("demo", help="tell the whole story against the running registry")
    t = sub.add_parser("token", help="issue a development token")
    t.add_argument("kind", choices=["institution", "subject", "operator"])
    t.add_argument("who", help="organisation number, identity number or staff name")
    t.add_argument("--api", required=True, choices=devstack.SERVICES, help="the service the token is for (audience)")
    t.add_argument("--scope", action="append", choices=[SCOPE_LOOKUP, SCOPE_EXTRACT, SCOPE_STATISTICS])
    t.add_argument("--ttl", type=int, default=300, help="seconds (the services accept at most an hour)")
    ce = sub.add_parser("cert", help="issue a development certificate")
    ce.add_argument("kind", choices=["institution"])
    ce.add_argument("organization_number")
    r = who(sub.add_parser("report", help="report debts from a NOGI delivery file, as one delivery"))
    r.add_argument("file")
    r.add_argument("--snapshot", action="store_true", help="a full snapshot: replaces all of the institution's data")
    r.add_argument("--partial", action="store_true", help="register the good loans, report the bad ones")
    r.add_argument("--request-id", help="default: the file's digest, so sending the same file again is a retry")
    c = sub.add_parser("consent", help="consents").add_subparsers(dest="action", required=True)
    g = who(c.add_parser("grant"))
    g.add_argument("institution")
    g.add_argument("--scope", choices=["processing", "presentation"], default="processing")
    g.add_argument("--days", type=float, help="validity; default 10 minutes and a single use")
    who(c.add_parser("list"))
    w = who(c.add_parser("withdraw"))
    w.add_argument("consent_id")
    fl = sub.add_parser("flag", help="a person's identity-theft flag").add_subparsers(dest="action", required=True)
    fp = who(fl.add_parser("place", help="lenders are warned, and you alerted at once of each lookup"))
    fp.add_argument("--until", metavar="DATE", help="its last day, YYYY-MM-DD (default: 90 days; at most a year)")
    who(fl.add_parser("lift"))
    who(fl.add_parser("show"))
    lk = who(sub.add_parser("lookup", help="a lender's lookup"))
    lk.add_argument("subject")
    lk.add_argument("--reference")
    m = who(sub.add_parser("my", help="a person's own view"))
    m.add_argument("what", choices=["debt", "consents", "disclosures", "notices"])
    x = sub.add_parser("extract", help="score-model extracts (DOM-11)").add_subparsers(dest="action", required=True)
    xo = who(x.add_parser("order", help="hand in the quarter's list of customers: the live registry's <org>.txt"))
    xo.add_argument("file", help="one identity number a line; named <organisation number>.txt")
    for name in ("status", "download", "delete"):
        xa = who(x.add_parser(name))
        xa.add_argument("order_id")
        if name == "download":
            xa.add_argument("--out", required=True, help="where to write the package (gzipped NOGI JSON)")
    xr = x.add_parser("round", help="an operator runs a round now")
    xr.add_argument("--as-operator", metavar="NAME", required=True, help="a development member of staff")
    xr.add_argument("--ca", metavar="PEM", help="the CA of the registry's certificates (or GJELD_CA_FILE)")
    co = sub.add_parser("correction", help="correction requests (DOM-14)").add_subparsers(dest="action", required=True)
    cr = who(co.add_parser("request", help="a person asks the creditor to correct one of their debts"))
    cr.add_argument("creditor", help="the creditor's organisation number (as `gjeld my debt` shows)")
    cr.add_argument("account_id")
    cr.add_argument("--reason", required=True, help="what is wrong, in your words")
    who(co.add_parser("list", help="a person's own requests and their answers"))
    for name, text in (("feed", "an institution's correction requests"), ("notices", "an institution's notices")):
        cf = who(co.add_parser(name, help=text))
        cf.add_argument("--after", type=int, default=0, help="the last position read")
    ca = who(co.add_parser("answer", help="the owning institution answers"))
    ca.add_argument("correction_id")
    kind = ca.add_mutually_exclusive_group()
    kind.add_argument("--reject", metavar="REASON", help="the data is right, because …")
    kind.add_argument("--forward", metavar="ORG", help="the error arose at this institution")
    ca.add_argument("--delivery", metavar="ID", help="corrected by this delivery (default: by the next one)")
    ca.add_argument("--description", help="what was corrected, for the person")
    cv = co.add_parser("overdue", help="an operator's list of requests past their deadline")
    cv.add_argument("--as-operator", metavar="NAME", required=True, help="a development member of staff")
    cv.add_argument("--ca", metavar="PEM", help="the CA of the registry's certificates (or GJELD_CA_FILE)")
    au = sub.add_parser("audit", help="the disclosure log (DOM-15)").add_subparsers(dest="action", required=True)
    av = au.add_parser("verify", help="check the log against its signed checkpoints")
    av.add_argument("--database-url", help="lookup's database (or GJELD_LOOKUP_DATABASE_URL; default: development)")
    av.add_argument("--checkpoints", help="the published checkpoints (default: .data/audit/checkpoints.jsonl)")
    av.add_argument("--public-key", help="the registry's published Ed25519 public key (PEM)")
    av.add_argument("--signing-key", help="or its private key (development: the extract signing key)")
    tr = sub.add_parser("trace", help="a trace as a tree")
    tr.add_argument("trace_id")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "up":
            from .up import up

            return up()
        if args.command == "demo":
            from .demo import demo

            return asyncio.run(demo())
        if args.command == "token":
            cmd_token(args)
        elif args.command == "cert":
            cmd_cert(args)
        elif args.command == "trace":
            cmd_trace(args)
        elif args.command == "report":
            print(asyncio.run(cmd_report(args)))
        elif args.command == "consent":
            action = {"grant": cmd_grant, "list": cmd_consents, "withdraw": cmd_withdraw}[args.action]
            asyncio.run(action(args))
        elif args.command == "flag":
            asyncio.run(cmd_flag(args))
        elif args.command == "lookup":
            asyncio.run(cmd_lookup(args))
        elif args.command == "my":
            asyncio.run(cmd_my(args))
        elif args.command == "extract":
            asyncio.run(cmd_extract(args))
        elif args.command == "correction":
            asyncio.run(cmd_correction(args))
        elif args.command == "audit":
            return asyncio.run(cmd_audit_verify(args))
    except Failure as failure:
        print(f"gjeld: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
