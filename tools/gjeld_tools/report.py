"""Sending a NOGI delivery file to the registry as one delivery: a full snapshot or changes, streamed in
messages of 1,000 debts with progress shown, ending in a summary a bank's integration team can act on
(every refused loan named by its place in the file and its NOGI field)."""

from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from array import array
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import grpc
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2, ingest_service_pb2_grpc
from gjeld_shared import errors

from . import nogi

PER_MESSAGE = 1000
SHOWN = 20


class Refused(Exception):
    """The registry refused the delivery; the message says why, in the file's terms."""


@dataclass
class Sent:
    """Where each sent loan stands in the file (two integer arrays: flat per loan, no loan kept)."""

    customers: array[int] = field(default_factory=lambda: array("I"))
    loans: array[int] = field(default_factory=lambda: array("I"))
    # Loans left out here, before sending, with why: another institution's customer, a customer listed twice.
    ignored: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.customers)

    def where(self, index: int, path: str) -> str:
        return nogi.location(path, self.customers[index], self.loans[index])


def file_request_id(path: Path, snapshot: bool) -> str:
    """The same file sent again is a retry (AIP-155): its request id is its digest."""
    digest = hashlib.sha256(b"snapshot:" if snapshot else b"changes:")
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:48]


def _violations(error: grpc.aio.AioRpcError, sent: Sent) -> str:
    remote = errors.decode(error)
    lines = []
    for violation in remote.field_violations[:SHOWN]:
        index = _index(violation.field)
        where = sent.where(index, violation.field) if index is not None and index < len(sent) else violation.field
        lines.append(f"  {where}: {violation.description}")
    more = int(remote.metadata.get("violation_count", len(remote.field_violations))) - len(lines)
    if more > 0:
        lines.append(f"  … and {more} more")
    return f"{remote.code.name} {remote.reason}\n" + "\n".join(lines)


def _index(path: str) -> int | None:
    head = path.split("]", 1)[0]
    if "[" not in head:
        return None
    return int(head.split("[", 1)[1])


async def send(
    path: Path,
    channel: grpc.aio.Channel,
    institution: str,
    *,
    snapshot: bool,
    partial: bool,
    request_id: str | None = None,
    progress: TextIO = sys.stderr,
) -> str:
    """Send the file as one delivery over `channel` (to ingest, with the institution's certificate); returns the
    summary, or raises Refused."""
    request_id = request_id or file_request_id(path, snapshot)
    strictness = ingest_pb2.STRICTNESS_PARTIAL if partial else ingest_pb2.STRICTNESS_ALL_OR_NOTHING
    sent = Sent()
    started = time.monotonic()
    refusal: list[str] = []  # why the file was refused while it was being sent (the call is then cancelled)

    def refuse(why: str) -> Refused:
        refusal.append(why)
        return Refused(why)

    async def messages() -> AsyncIterator[Any]:
        first = True
        batch: list[ingest_pb2.Debt] = []
        shown = started
        seen: set[int] = set()  # each customer's number, hashed (a nation's file: flat enough, none kept in clear)
        current, twice = -1, False
        with path.open("rb") as file:
            for loan in nogi.read(file):
                if loan.financial_institution not in ("", institution):
                    where = f"customers[{loan.customer}].financialInstitutionID"
                    if not partial:
                        raise refuse(f"{where}: the customer belongs to another institution than {institution}")
                    sent.ignored.append(f"{where}: another institution's customer, not sent")
                    continue
                if loan.customer != current:  # a customer object begins: the live registry refuses one listed twice
                    current, customer = loan.customer, hash(loan.debt.debtor.value)
                    twice = customer in seen
                    seen.add(customer)
                    if twice:
                        where = f"customers[{loan.customer}].customerID"
                        if not partial:
                            raise refuse(f"{where}: the same customer is listed earlier in the file")
                        sent.ignored.append(f"{where}: the same customer listed again, not sent")
                if twice:
                    continue
                sent.customers.append(loan.customer)
                sent.loans.append(loan.loan)
                batch.append(loan.debt)
                if len(batch) == PER_MESSAGE:
                    yield _message(snapshot, first, request_id, strictness, batch)
                    first, batch = False, []
                    if time.monotonic() - shown > 1:
                        shown = time.monotonic()
                        rate = len(sent) / (shown - started)
                        print(f"  sent {len(sent):,} debts ({rate:,.0f}/s)", file=progress, flush=True)
        if batch or first:
            yield _message(snapshot, first, request_id, strictness, batch)

    stub = ingest_service_pb2_grpc.IngestServiceStub(channel)
    method = stub.DeliverSnapshot if snapshot else stub.StreamDebtChanges
    try:
        reply = await method(messages())
    except asyncio.CancelledError:
        # A refusal raised while sending cancels the call (so the registry keeps nothing of it): say why.
        if refusal:
            raise Refused(f"the file was refused, nothing of it sent: {refusal[0]}") from None
        raise
    except grpc.aio.AioRpcError as error:
        raise Refused(f"the delivery was refused, nothing of it registered: {_violations(error, sent)}") from None
    return summary(path, reply.delivery, reply.rejections, sent, time.monotonic() - started)


def _message(
    snapshot: bool, first: bool, request_id: str, strictness: ingest_pb2.Strictness.ValueType, debts: Sequence[Any]
) -> ingest_service_pb2.DeliverSnapshotRequest | ingest_service_pb2.StreamDebtChangesRequest:
    if snapshot:
        message = ingest_service_pb2.DeliverSnapshotRequest(debts=debts)
        if first:
            message.request_id, message.strictness = request_id, strictness
            # NOGI carries the extract time per loan: the first loan's stands for the snapshot's, so that
            # sending the same file again is the same delivery (a retry).
            if debts and debts[0].HasField("extract_time"):
                message.extract_time.CopyFrom(debts[0].extract_time)
            else:
                message.extract_time.GetCurrentTime()
        return message
    changes = ingest_service_pb2.StreamDebtChangesRequest(changes=[ingest_pb2.DebtChange(register=d) for d in debts])
    if first:
        changes.request_id, changes.strictness = request_id, strictness
    return changes


def summary(path: Path, delivery: Any, rejections: Sequence[Any], sent: Sent, seconds: float) -> str:
    kind = "snapshot" if delivery.kind == ingest_pb2.DELIVERY_KIND_SNAPSHOT else "changes"
    lines = [
        f"{kind} {path.name}: {delivery.record_count:,} debts in {seconds:.1f} s (delivery {delivery.id})",
        f"  registered {delivery.registered_count:,}",
    ]
    if delivery.kind == ingest_pb2.DELIVERY_KIND_SNAPSHOT:
        lines.append(f"  deleted {delivery.absent_count:,} the snapshot no longer holds")
    if delivery.rejected_count or sent.ignored:
        lines.append(f"  rejected {delivery.rejected_count + len(sent.ignored):,}:")
        for rejection in rejections[:SHOWN]:
            for violation in rejection.violations:
                lines.append(f"    {sent.where(rejection.index, violation.field)}: {violation.description}")
        lines.extend(f"    {why}" for why in sent.ignored[:SHOWN])
        if delivery.rejected_count > SHOWN:
            lines.append(f"    … all of them: ListDeliveryRejections for delivery {delivery.id}")
    return "\n".join(lines)
