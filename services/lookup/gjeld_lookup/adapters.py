"""lookup's storage (the `lookup` schema) and its clients of the other services.

The disclosure log records who received what about whom, when, on which legal
basis, under which consent, with the trace id (DOM-15). The outbox holds each copy
letter still to be handed to notify; it is written in the same transaction as the
disclosure, so a disclosure never lacks its letter (DOM-13).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
from gjeld.consent.v1 import consent_pb2, consent_service_pb2, consent_service_pb2_grpc
from gjeld.creditor.v1 import creditor_service_pb2
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2, ingest_service_pb2_grpc
from gjeld.notify.v1 import notify_pb2, notify_service_pb2, notify_service_pb2_grpc
from gjeld.type.v1 import identity_pb2
from gjeld_shared import errors
from gjeld_shared.clients import CreditorChannels
from gjeld_shared.db import beyond
from gjeld_shared.errors import GjeldError, PermissionDenied, Unavailable
from gjeld_shared.institutions import Institution
from gjeld_shared.redaction import redact
from gjeld_shared.rekey import Protected
from gjeld_shared.retention import Kept
from gjeld_shared.timestamps import from_proto
from gjeld_shared.unit_of_work import UnitOfWork
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from . import audit, convert
from .domain import Debt, Disclosure, Purpose, SetAsideLetter

log = logging.getLogger(__name__)

SCHEMA = "lookup"
metadata = MetaData(schema=SCHEMA)

disclosures = Table(
    "disclosures",
    metadata,
    # A lookup's id is lookup's own (retries find it again); a package's rows take the database's.
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()),
    Column("subject_index", LargeBinary, nullable=False),
    Column("recipient", String(16)),
    Column("purpose", String(32), nullable=False),
    Column("consent_id", String(64)),
    Column("application_reference", String(64), nullable=False, server_default=""),
    Column("debt_count", Integer, nullable=False),
    Column("disclosed", LargeBinary, nullable=False),
    Column("trace_id", String(32), nullable=False),
    Column("disclose_time", DateTime(timezone=True), nullable=False),
    # When the register was read for it (before disclose_time: a lookup waits for live creditors); NULL before kept.
    Column("read_time", DateTime(timezone=True)),
    Column("credit_blocked", Boolean, nullable=False, server_default="false"),
    # A lender's own id for a lookup it may retry (AIP-155), and a keyed digest of what it asked.
    Column("request_id", String(64)),
    Column("request_digest", LargeBinary),
    Index("disclosures_by_subject", "subject_index", "disclose_time"),
    Index("disclosures_by_time", "disclose_time"),  # retention
    Index(
        "disclosures_by_request",
        "recipient",
        "request_id",
        unique=True,
        postgresql_where=text("request_id IS NOT NULL"),
    ),
)

outbox = Table(
    "notice_outbox",
    metadata,
    Column("disclosure_id", UUID(as_uuid=True), primary_key=True),
    Column("subject_encrypted", LargeBinary, nullable=False),
    Column("copy_letter", LargeBinary, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_time", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("relay_time", DateTime(timezone=True)),
    # Set when the letter could not be handed over after the most attempts: it waits for an operator.
    Column("failed_time", DateTime(timezone=True)),
    Index("notice_outbox_pending", "next_attempt_time", postgresql_where="relay_time IS NULL"),
    Index("notice_outbox_relayed", "relay_time", postgresql_where="relay_time IS NOT NULL"),  # retention
)

# What holds identity numbers, for `python -m gjeld_lookup rekey` after a key rotation.
extract_orders = Table(
    "extract_orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("institution", String(16), nullable=False),
    Column("quarter", String(7), nullable=False),
    # ordered → cutting (claimed by a round) → delivered → deleted; or failed (the list could not be read).
    Column("state", String(16), nullable=False),
    Column("request_id", String(64)),
    Column("submit_time", DateTime(timezone=True), nullable=False),
    Column("listed_count", BigInteger, nullable=False),
    Column("invalid_count", BigInteger, nullable=False),
    Column("duplicate_count", BigInteger, nullable=False),
    Column("customer_count", BigInteger),
    Column("not_customer_count", BigInteger),
    Column("failure", Text, nullable=False, server_default=""),
    Column("round_id", UUID(as_uuid=True)),
    Column("package_id", UUID(as_uuid=True)),
    Column("snapshot_time", DateTime(timezone=True)),
    Column("record_count", BigInteger),
    Column("sha256", LargeBinary),
    Column("size", BigInteger),
    Column("delete_deadline", DateTime(timezone=True)),
    Column("delete_time", DateTime(timezone=True)),
    Column("deletion_confirmed", Boolean, nullable=False, server_default="false"),
    Column("remind_time", DateTime(timezone=True)),
    # One order waiting per institution; a retried hand-in finds its order by request id.
    Index(
        "extract_orders_waiting",
        "institution",
        unique=True,
        postgresql_where=text("state IN ('ordered', 'cutting')"),
    ),
    Index(
        "extract_orders_by_request",
        "institution",
        "request_id",
        unique=True,
        postgresql_where=text("request_id IS NOT NULL"),
    ),
)

# An order's list, encrypted with lookup's subject keys, in parts of at most 10,000 numbers (one a line).
extract_order_parts = Table(
    "extract_order_parts",
    metadata,
    Column("order_id", UUID(as_uuid=True), primary_key=True),
    Column("part", Integer, primary_key=True),
    Column("numbers_encrypted", LargeBinary, nullable=False),
)

# A package's bytes (gzipped NOGI JSON), in pieces of at most 1 MiB, each sealed with lookup's keys, until deleted.
extract_package_chunks = Table(
    "extract_package_chunks",
    metadata,
    Column("order_id", UUID(as_uuid=True), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)

# The disclosure log's tamper evidence (audit.py): entries without personal data, append only.
audit_log = Table(
    "audit_log",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("record_id", UUID(as_uuid=True), nullable=False),
    Column("entry", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary, nullable=False),
    Column("append_time", DateTime(timezone=True), nullable=False),
    Index("audit_log_by_record", "record_id"),
)
# One append at a time: positions 0, 1, 2 … in commit order, without gaps. The lock is its own statement: the INSERT
# that follows takes its snapshot after the lock, so it sees the position the previous holder committed.
LOCK_AUDIT = "SELECT pg_advisory_xact_lock(hashtext('gjeld:audit-log'))"
APPEND_AUDIT = """
INSERT INTO lookup.audit_log (position, record_id, entry, leaf_hash, append_time)
SELECT coalesce(max(position) + 1, 0), $1, $2, $3, now() FROM lookup.audit_log
"""

# How far lookup has read ingest's feed of resolved correction requests (DOM-14), and each disclosure whose recipient
# was told of a correction: the record of who was told.
correction_feed_positions = Table(
    "correction_feed_positions",
    metadata,
    Column("feed", String(32), primary_key=True),
    Column("position", BigInteger, nullable=False),
)
correction_notices = Table(
    "correction_notices",
    metadata,
    Column("correction_id", UUID(as_uuid=True), primary_key=True),
    Column("disclosure_id", UUID(as_uuid=True), primary_key=True),
    Column("recipient", String(16), nullable=False),
    Column("notify_time", DateTime(timezone=True), nullable=False),
)


def retention(content: timedelta, records: timedelta, relayed: timedelta, set_aside: timedelta) -> list[Kept]:
    """What lookup keeps, and for how long (the README's table)."""
    return [
        # The lender's answer (every amount) serves only a retried lookup; its request id goes with it.
        Kept(
            "the content of a disclosure (the answer: every amount)",
            disclosures,
            content,
            lambda cut: and_(disclosures.c.disclose_time < cut, disclosures.c.disclosed != b""),
            # The request id stays (a retry is then told the answer is gone, not answered anew under the same id).
            erase={"disclosed": b""},
        ),
        Kept(
            "disclosure records (who, when, why)", disclosures, records, lambda cut: disclosures.c.disclose_time < cut
        ),
        Kept("copy letters handed to notify", outbox, relayed, lambda cut: outbox.c.relay_time < cut),
        Kept("copy letters set aside for operators", outbox, set_aside, lambda cut: outbox.c.failed_time < cut),
        # An order's record (counts, manifest) once its package is deleted, or its list could not be read.
        Kept(
            "score-model order records",
            extract_orders,
            records,
            lambda cut: and_(extract_orders.c.state.in_(["deleted", "failed"]), extract_orders.c.submit_time < cut),
        ),
    ]


PROTECTED = (
    Protected(disclosures, hashes=("subject_index", "request_digest")),
    Protected(outbox, ciphertexts=("subject_encrypted",)),
    Protected(extract_order_parts, ciphertexts=("numbers_encrypted",)),
    Protected(extract_package_chunks, ciphertexts=("data",)),
)


def _still_claimed(disclosure_id: uuid.UUID, claimed: int) -> ColumnElement[bool]:
    """The letter, as its claim left it: not relayed, not set aside, not claimed again since."""
    return and_(
        outbox.c.disclosure_id == disclosure_id,
        outbox.c.relay_time.is_(None),
        outbox.c.failed_time.is_(None),
        outbox.c.attempts == claimed,
    )


class DisclosureLog:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def record(
        self,
        disclosure: Disclosure,
        subject_index: bytes,
        answer: bytes,
        request_id: str | None = None,
        request_digest: bytes | None = None,
    ) -> None:
        """The disclosure, with what was disclosed (the lender's answer) and, for a retry-safe lookup, its request."""
        await self._db.execute(
            insert(disclosures).values(
                id=disclosure.id,
                subject_index=subject_index,
                recipient=disclosure.recipient,
                purpose=disclosure.purpose.value,
                consent_id=disclosure.consent_id,
                application_reference=disclosure.application_reference,
                debt_count=disclosure.debt_count,
                trace_id=disclosure.trace_id,
                disclose_time=disclosure.disclose_time,
                read_time=disclosure.read_time,
                credit_blocked=disclosure.credit_blocked,
                disclosed=answer,
                request_id=request_id,
                request_digest=request_digest,
            )
        )

    async def append_audit(self, record_id: uuid.UUID, entry: bytes) -> None:
        """A leaf of the tamper-evident log, in the transaction that records what it is about."""
        await self._db.exec_driver_sql(LOCK_AUDIT)
        await self._db.exec_driver_sql(APPEND_AUDIT, (record_id, entry, audit.leaf_hash(entry)))

    async def audit_leaves(self, size: int | None = None) -> list[audit.Leaf]:
        query = select(audit_log.c.position, audit_log.c.entry, audit_log.c.leaf_hash).order_by(audit_log.c.position)
        if size is not None:
            query = query.limit(size)
        return [audit.Leaf(r.position, r.entry, r.leaf_hash) for r in await self._db.execute(query)]

    async def exists(self, disclosure_id: uuid.UUID) -> bool:
        return (
            await self._db.execute(select(disclosures.c.id).where(disclosures.c.id == disclosure_id))
        ).first() is not None

    async def is_of_subject(self, disclosure_id: uuid.UUID, subject_index: bytes) -> bool:
        query = select(disclosures.c.id).where(
            disclosures.c.id == disclosure_id, disclosures.c.subject_index == subject_index
        )
        return (await self._db.execute(query)).first() is not None

    async def logged_as(self, disclosure_id: uuid.UUID) -> uuid.UUID | None:
        """What the log's entry for this disclosure is about: itself, or (a score-model disclosure) its package."""
        query = select(disclosures.c.purpose, disclosures.c.application_reference).where(
            disclosures.c.id == disclosure_id
        )
        row = (await self._db.execute(query)).first()
        if row is None:
            return None
        return uuid.UUID(row.application_reference) if row.purpose == Purpose.SCORE_MODEL.value else disclosure_id

    async def audit_position(self, record_id: uuid.UUID) -> int | None:
        query = select(audit_log.c.position).where(audit_log.c.record_id == record_id)
        found: int | None = (await self._db.execute(query)).scalar_one_or_none()
        return found

    async def of_request(self, recipient: str, request_id: str) -> Any:
        """The disclosure an institution's earlier lookup with this request id made, if any."""
        query = select(disclosures).where(disclosures.c.recipient == recipient, disclosures.c.request_id == request_id)
        return (await self._db.execute(query)).first()

    async def queue_letter(
        self, disclosure_id: uuid.UUID, subject_encrypted: bytes, letter: bytes, when: datetime
    ) -> None:
        await self._db.execute(
            insert(outbox).values(
                disclosure_id=disclosure_id,
                subject_encrypted=subject_encrypted,
                copy_letter=letter,
                next_attempt_time=when,
            )
        )

    async def of_subject(
        self, subject_index: bytes, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Disclosure]:
        query = select(disclosures).where(disclosures.c.subject_index == subject_index)
        if before is not None:
            query = query.where(beyond((disclosures.c.disclose_time, disclosures.c.id), before, descending=True))
        rows = await self._db.execute(
            query.order_by(disclosures.c.disclose_time.desc(), disclosures.c.id.desc()).limit(limit)
        )
        return [disclosure_from_row(row) for row in rows]

    async def any_letter_due(self, now: datetime) -> bool:
        return bool(
            (
                await self._db.execute(
                    select(outbox.c.disclosure_id)
                    .where(
                        outbox.c.relay_time.is_(None), outbox.c.failed_time.is_(None), outbox.c.next_attempt_time <= now
                    )
                    .limit(1)
                )
            ).first()
        )

    async def claim_letters(self, now: datetime, until: datetime, limit: int) -> list[Any]:
        """Take due letters for one relay until `until`, counting the attempt (skipping any another relay holds)."""
        due = (
            select(outbox.c.disclosure_id)
            .where(outbox.c.relay_time.is_(None), outbox.c.failed_time.is_(None), outbox.c.next_attempt_time <= now)
            .order_by(outbox.c.next_attempt_time)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(
            await self._db.execute(
                update(outbox)
                .where(outbox.c.disclosure_id.in_(due.scalar_subquery()))
                .values(attempts=outbox.c.attempts + 1, next_attempt_time=until)
                .returning(*outbox.c)
            )
        )

    async def set_aside_interrupted(self, now: datetime, max_attempts: int) -> None:
        """Letters whose last allowed attempt never came back (the relay died handing them over): set aside."""
        await self._db.execute(
            update(outbox)
            .where(
                outbox.c.relay_time.is_(None),
                outbox.c.failed_time.is_(None),
                outbox.c.next_attempt_time <= now,
                outbox.c.attempts >= max_attempts,
            )
            .values(failed_time=func.now(), last_error="Interrupted")
        )

    async def relayed(self, claims: Sequence[tuple[uuid.UUID, int]], when: datetime) -> None:
        """The outcome of claimed attempts (each letter's claim counted its attempt): handed over, where the claim
        still holds."""
        held = or_(*(_still_claimed(disclosure_id, claimed) for disclosure_id, claimed in claims))
        await self._db.execute(update(outbox).where(held).values(relay_time=when, last_error=None))

    async def relay_failed(
        self, disclosure_id: uuid.UUID, claimed: int, retry_at: datetime, error: str, give_up: bool = False
    ) -> None:
        """The outcome of a claimed attempt that failed: due again at `retry_at`, or set aside; if the claim holds."""
        await self._db.execute(
            update(outbox)
            .where(_still_claimed(disclosure_id, claimed))
            .values(
                next_attempt_time=retry_at,
                last_error=redact(error)[:500],
                failed_time=func.now() if give_up else None,
            )
        )

    async def set_aside(self, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[SetAsideLetter]:
        """The letters set aside, newest first."""
        query = select(outbox).where(outbox.c.failed_time.is_not(None))
        if before is not None:
            query = query.where(beyond((outbox.c.failed_time, outbox.c.disclosure_id), before, descending=True))
        rows = await self._db.execute(
            query.order_by(outbox.c.failed_time.desc(), outbox.c.disclosure_id.desc()).limit(limit)
        )
        return [set_aside_from_row(row) for row in rows]

    async def put_back(self, disclosure_id: uuid.UUID, now: datetime) -> SetAsideLetter | None:
        """A letter set aside, due again at once with its attempts from zero; None if none set aside has this id."""
        row = (
            await self._db.execute(
                update(outbox)
                .where(outbox.c.disclosure_id == disclosure_id, outbox.c.failed_time.is_not(None))
                .values(failed_time=None, attempts=0, next_attempt_time=now)
                .returning(*outbox.c)
            )
        ).first()
        return None if row is None else set_aside_from_row(row)


def set_aside_from_row(row: Any) -> SetAsideLetter:
    return SetAsideLetter(row.disclosure_id, row.attempts, row.last_error or "", row.failed_time)


SCOPES = {"processing": consent_pb2.CONSENT_SCOPE_PROCESSING, "presentation": consent_pb2.CONSENT_SCOPE_PRESENTATION}


def _unavailable(service: str, error: grpc.RpcError) -> GjeldError:
    remote = errors.decode(error)
    if remote.code is grpc.StatusCode.PERMISSION_DENIED and remote.reason.startswith("CONSENT_"):
        return PermissionDenied(remote.reason, "no active consent from the subject allows this lookup", remote.metadata)
    return Unavailable(
        "DEPENDENCY_UNAVAILABLE",
        f"the {service} service could not answer",
        {"service": service, "code": remote.code.name},
    )


def disclosure_from_row(row: Any) -> Disclosure:
    return Disclosure(
        row.id,
        row.recipient,
        Purpose(row.purpose),
        row.consent_id,
        row.disclose_time,
        row.debt_count,
        row.application_reference,
        row.trace_id,
        row.credit_blocked,
    )


class ExtractStore:
    """Extract orders, their lists and their packages, within a transaction the caller holds."""

    WAITING = ("ordered", "cutting")

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def order(self, order_id: uuid.UUID, institution: str | None = None) -> Any | None:
        query = select(extract_orders).where(extract_orders.c.id == order_id)
        if institution is not None:
            query = query.where(extract_orders.c.institution == institution)
        return (await self._db.execute(query)).first()

    async def of_request(self, institution: str, request_id: str) -> Any | None:
        query = select(extract_orders).where(
            extract_orders.c.institution == institution, extract_orders.c.request_id == request_id
        )
        return (await self._db.execute(query)).first()

    async def serialize(self, institution: str) -> None:
        """One hand-in at a time per institution (the limits are checked and the order added in one step)."""
        await self._db.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"extract:{institution}"))))

    async def waiting(self, institution: str) -> Any | None:
        query = select(extract_orders).where(
            extract_orders.c.institution == institution, extract_orders.c.state.in_(self.WAITING)
        )
        return (await self._db.execute(query)).first()

    async def rounds_in(self, institution: str, quarters: Sequence[str]) -> int:
        """The institution's orders (not failed) for these quarters: the rounds of one year it takes part in."""
        query = select(func.count()).where(
            extract_orders.c.institution == institution,
            extract_orders.c.quarter.in_(quarters),
            extract_orders.c.state != "failed",
        )
        return int((await self._db.execute(query)).scalar_one())

    async def add(self, values: dict[str, Any], parts: Sequence[bytes]) -> Any:
        row = (await self._db.execute(insert(extract_orders).values(**values).returning(extract_orders))).one()
        if parts:
            await self._db.execute(
                insert(extract_order_parts),
                [{"order_id": row.id, "part": i, "numbers_encrypted": blob} for i, blob in enumerate(parts)],
            )
        return row

    async def due_before(self, quarter: str) -> bool:
        """Whether an order of a quarter before `quarter` waits for its round."""
        query = select(extract_orders.c.id).where(
            extract_orders.c.state == "ordered", extract_orders.c.quarter < quarter
        )
        return (await self._db.execute(query.limit(1))).first() is not None

    async def claim(self, round_id: uuid.UUID) -> list[Any]:
        """Every order waiting, now the round's (the caller holds the round lock: one round at a time)."""
        waiting = select(extract_orders.c.id).where(extract_orders.c.state == "ordered").scalar_subquery()
        claimed = (
            update(extract_orders)
            .where(extract_orders.c.id.in_(waiting))
            .values(state="cutting", round_id=round_id)
            .returning(extract_orders)
        )
        return sorted((await self._db.execute(claimed)).all(), key=lambda row: (row.submit_time, row.id))

    async def parts(self, order_id: uuid.UUID) -> list[bytes]:
        query = (
            select(extract_order_parts.c.numbers_encrypted)
            .where(extract_order_parts.c.order_id == order_id)
            .order_by(extract_order_parts.c.part)
        )
        return list((await self._db.execute(query)).scalars())

    async def start_package(self, order_id: uuid.UUID, package_id: uuid.UUID) -> None:
        await self._db.execute(
            update(extract_orders).where(extract_orders.c.id == order_id).values(package_id=package_id)
        )

    async def disclosed(self, rows: Sequence[dict[str, Any]]) -> None:
        """The package's customers, each in the disclosure log (DOM-15): who received their data, when, why. Copied
        in (COPY, not one INSERT a row: a package may hold a million)."""
        if rows:
            driver: asyncpg.Connection = (await self._db.get_raw_connection()).driver_connection
            columns = list(rows[0])
            await driver.copy_records_to_table(
                disclosures.name,
                schema_name=SCHEMA,
                columns=columns,
                records=[tuple(row[c] for c in columns) for row in rows],
            )

    async def add_chunk(self, order_id: uuid.UUID, seq: int, data: bytes) -> None:
        await self._db.execute(insert(extract_package_chunks).values(order_id=order_id, seq=seq, data=data))

    async def chunk(self, order_id: uuid.UUID, seq: int) -> bytes | None:
        query = select(extract_package_chunks.c.data).where(
            extract_package_chunks.c.order_id == order_id, extract_package_chunks.c.seq == seq
        )
        found: bytes | None = (await self._db.execute(query)).scalar_one_or_none()
        return found

    async def cut(self, order_id: uuid.UUID, values: dict[str, Any]) -> None:
        """An order's package is cut; it stays unseen until the whole round is (`publish`)."""
        await self._db.execute(
            update(extract_orders)
            .where(extract_orders.c.id == order_id, extract_orders.c.state == "cutting")
            .values(**values)
        )

    async def publish(self, round_id: uuid.UUID) -> list[Any]:
        """Every package of the round delivered at once: a round is delivered whole or not at all. The lists are
        no longer needed: they go (the packages hold what was delivered, until deleted)."""
        done = (
            update(extract_orders)
            .where(extract_orders.c.round_id == round_id, extract_orders.c.state == "cutting")
            .values(state="delivered")
            .returning(extract_orders)
        )
        delivered = sorted((await self._db.execute(done)).all(), key=lambda row: (row.submit_time, row.id))
        await self._db.execute(
            delete(extract_order_parts).where(extract_order_parts.c.order_id.in_([row.id for row in delivered]))
        )
        return delivered

    async def release(self, round_id: uuid.UUID | None = None) -> None:
        """A round that failed (or, without a round id, any left by a runner that died): its orders wait again, and
        what it cut of their packages, and logged of them, is gone."""
        cutting = extract_orders.c.state == "cutting"
        if round_id is not None:
            cutting = and_(extract_orders.c.round_id == round_id, cutting)
        cut = select(extract_orders.c.id).where(cutting)
        packages = select(func.cast(extract_orders.c.package_id, Text)).where(cutting)
        await self._db.execute(delete(extract_package_chunks).where(extract_package_chunks.c.order_id.in_(cut)))
        await self._db.execute(
            delete(disclosures).where(
                disclosures.c.purpose == "score_model", disclosures.c.application_reference.in_(packages)
            )
        )
        await self._db.execute(
            update(extract_orders)
            .where(cutting)
            .values(state="ordered", round_id=None, package_id=None, snapshot_time=None)
        )

    async def deleted(self, order_id: uuid.UUID, when: datetime, confirmed: bool) -> Any | None:
        """A delivered package deleted (its pieces gone); None when the order has no delivered package."""
        done = (
            update(extract_orders)
            .where(extract_orders.c.id == order_id, extract_orders.c.state == "delivered")
            .values(state="deleted", delete_time=when, deletion_confirmed=confirmed)
            .returning(extract_orders)
        )
        row = (await self._db.execute(done)).first()
        if row is not None:
            await self._db.execute(delete(extract_package_chunks).where(extract_package_chunks.c.order_id == order_id))
        return row

    async def confirmed_late(self, order_id: uuid.UUID) -> Any | None:
        """A recipient confirms, after the deadline, the deletion of a package the registry already deleted."""
        done = (
            update(extract_orders)
            .where(extract_orders.c.id == order_id, extract_orders.c.state == "deleted")
            .values(deletion_confirmed=True)
            .returning(extract_orders)
        )
        return (await self._db.execute(done)).first()

    async def to_remind(self, until: datetime) -> list[Any]:
        """Packages not yet deleted whose deadline comes before `until`, their recipient not yet reminded."""
        query = select(extract_orders).where(
            extract_orders.c.state == "delivered",
            extract_orders.c.delete_deadline <= until,
            extract_orders.c.remind_time.is_(None),
        )
        return list(await self._db.execute(query))

    async def reminded(self, order_id: uuid.UUID, when: datetime) -> None:
        await self._db.execute(update(extract_orders).where(extract_orders.c.id == order_id).values(remind_time=when))

    async def overdue(self, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Any]:
        """Packages deleted at their deadline without the recipient's confirmation, latest deadline first."""
        query = select(extract_orders).where(
            extract_orders.c.state == "deleted", extract_orders.c.deletion_confirmed.is_(False)
        )
        if before is not None:
            query = query.where(
                beyond((extract_orders.c.delete_deadline, extract_orders.c.id), before, descending=True)
            )
        order = (extract_orders.c.delete_deadline.desc(), extract_orders.c.id.desc())
        return list(await self._db.execute(query.order_by(*order).limit(limit)))

    async def past_deadline(self, when: datetime) -> list[uuid.UUID]:
        query = select(extract_orders.c.id).where(
            extract_orders.c.state == "delivered", extract_orders.c.delete_deadline <= when
        )
        return list((await self._db.execute(query)).scalars())


class CorrectionsTold:
    """What lookup has told of corrections: its place in ingest's outcome feed, and who was told of which."""

    FEED = "ingest.outcomes"

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def position(self) -> int:
        query = select(correction_feed_positions.c.position).where(correction_feed_positions.c.feed == self.FEED)
        return int((await self._db.execute(query)).scalar_one_or_none() or 0)

    async def advance(self, position: int) -> None:
        statement = insert(correction_feed_positions).values(feed=self.FEED, position=position)
        await self._db.execute(
            statement.on_conflict_do_update(index_elements=["feed"], set_={"position": statement.excluded.position})
        )

    async def recipients(self, subject_index: bytes, since: datetime | None, until: datetime) -> list[Any]:
        """The disclosures of the subject's debt to an institution whose register read came before `until` and not
        before `since`: each held every debt the register had of the subject at that moment (a lookup's answer, a
        score-model package's snapshot), unless a credit block stopped it."""
        read = func.coalesce(disclosures.c.read_time, disclosures.c.disclose_time)
        query = select(
            disclosures.c.id, disclosures.c.recipient, disclosures.c.disclose_time, disclosures.c.application_reference
        ).where(
            disclosures.c.subject_index == subject_index,
            disclosures.c.recipient.is_not(None),
            disclosures.c.credit_blocked.is_(False),
            disclosures.c.debt_count > 0,
            read < until,
        )
        if since is not None:
            query = query.where(read >= since)
        return list(await self._db.execute(query.order_by(disclosures.c.disclose_time, disclosures.c.id)))

    async def told(self, correction_id: uuid.UUID, disclosure_id: uuid.UUID, recipient: str, when: datetime) -> None:
        await self._db.execute(
            insert(correction_notices)
            .values(correction_id=correction_id, disclosure_id=disclosure_id, recipient=recipient, notify_time=when)
            .on_conflict_do_nothing()
        )


class DisclosureUnitOfWork(UnitOfWork):
    """One transaction of lookup's use cases, with its stores: the disclosure log and the outbox of letters, and
    the score-model extracts."""

    disclosures: DisclosureLog
    extracts: ExtractStore
    corrections: CorrectionsTold

    def bind(self, connection: AsyncConnection) -> None:
        self.corrections = CorrectionsTold(connection)
        self.disclosures = DisclosureLog(connection)
        self.extracts = ExtractStore(connection)


class Registry:
    """lookup's view of the other services, over their generated clients."""

    def __init__(self, consent: grpc.aio.Channel, ingest: grpc.aio.Channel, notify: grpc.aio.Channel) -> None:
        self._channels = (consent, ingest, notify)
        self._consent = consent_service_pb2_grpc.ConsentServiceStub(consent)
        self._ingest = ingest_service_pb2_grpc.IngestServiceStub(ingest)
        self._notify = notify_service_pb2_grpc.NotifyServiceStub(notify)

    async def use_consent(
        self, subject: str, institution: str, scope: str, disclosure_id: str, reference: str, timeout: float
    ) -> tuple[str | None, bool]:
        """Record the use of the subject's consent for this lookup: the consent's id (None for a credit block), and
        whether the subject's identity-theft flag stands."""
        try:
            reply = await self._consent.UseConsent(
                consent_service_pb2.UseConsentRequest(
                    subject=identity_pb2.NationalIdentityNumber(value=subject),
                    institution=identity_pb2.OrganizationNumber(value=institution),
                    scope=SCOPES[scope],
                    disclosure_id=disclosure_id,
                    application_reference=reference,
                ),
                timeout=timeout,
            )
        except grpc.RpcError as error:
            raise _unavailable("consent", error) from None
        flagged = reply.identity_theft_flag.flagged
        if reply.credit_blocked:
            return None, flagged
        consent_id: str = reply.consent.id
        return consent_id, flagged

    async def release_consent_use(self, disclosure_id: str, timeout: float) -> None:
        """Give back the consent's use recorded for a lookup that failed before disclosing anything."""
        try:
            await self._consent.ReleaseConsentUse(
                consent_service_pb2.ReleaseConsentUseRequest(disclosure_id=disclosure_id), timeout=timeout
            )
        except grpc.RpcError as error:
            raise _unavailable("consent", error) from None

    async def standing(self, subject: str, timeout: float) -> tuple[bool, bool]:
        """Whether the subject has a credit block, and whether their identity-theft flag stands."""
        try:
            reply = await self._consent.CheckCreditBlock(
                consent_service_pb2.CheckCreditBlockRequest(subject=identity_pb2.NationalIdentityNumber(value=subject)),
                timeout=timeout,
            )
        except grpc.RpcError as error:
            raise _unavailable("consent", error) from None
        return reply.credit_blocked, reply.identity_theft_flag.flagged

    async def debts_of(self, subject: str, timeout: float) -> list[Debt]:
        """Every debt the register holds of the subject, read into lookup's own type (with its creditor)."""
        try:
            reply = await self._ingest.ListSubjectDebts(
                ingest_service_pb2.ListSubjectDebtsRequest(subject=identity_pb2.NationalIdentityNumber(value=subject)),
                timeout=timeout,
            )
        except grpc.RpcError as error:
            raise _unavailable("ingest", error) from None
        return [debt for debt in map(convert.debt_from_proto, reply.debts) if debt is not None]

    def read_round(self) -> RoundReader:
        """ingest's read of an extract round: one snapshot for every order, read one order at a time."""
        return RoundReader(self._ingest.ReadExtract())

    async def send_letter(
        self, disclosure_id: str, subject: str, letter: notify_pb2.CopyLetter, timeout: float
    ) -> None:
        """Hand one copy letter to notify."""
        await self._notify.EnqueueNotice(
            notify_service_pb2.EnqueueNoticeRequest(
                source_id=disclosure_id, subject=identity_pb2.NationalIdentityNumber(value=subject), copy_letter=letter
            ),
            timeout=timeout,
        )

    async def send_letters(self, letters: Sequence[tuple[str, str, notify_pb2.CopyLetter]], timeout: float) -> None:
        """Hand copy letters (each with its disclosure id and subject) to notify, in one call: all of them or none."""
        await self._notify.BatchEnqueueNotices(
            notify_service_pb2.BatchEnqueueNoticesRequest(
                requests=[
                    notify_service_pb2.EnqueueNoticeRequest(
                        source_id=disclosure_id,
                        subject=identity_pb2.NationalIdentityNumber(value=subject),
                        copy_letter=letter,
                    )
                    for disclosure_id, subject, letter in letters
                ]
            ),
            timeout=timeout,
        )

    async def correction_outcomes(
        self, after: int, timeout: float, limit: int = 100
    ) -> list[ingest_pb2.CorrectionEvent]:
        """Resolved correction requests after a position of ingest's outcome feed, with their debtors."""
        try:
            reply = await self._ingest.ReadCorrectionOutcomes(
                ingest_service_pb2.ReadCorrectionOutcomesRequest(after_position=after, page_size=limit),
                timeout=timeout,
            )
        except grpc.RpcError as error:
            raise _unavailable("ingest", error) from None
        return list(reply.events)

    async def tell_institution(
        self,
        source_id: str,
        recipient: str,
        notice: notify_pb2.CorrectionNotice | notify_pb2.ExtractDeletionReminder,
        timeout: float,
    ) -> None:
        """A notice into the recipient's feed at notify (idempotent on the source id): a correction of data it
        received, or a package's deletion deadline near."""
        request = notify_service_pb2.EnqueueInstitutionNoticeRequest(
            source_id=source_id, recipient=identity_pb2.OrganizationNumber(value=recipient)
        )
        if isinstance(notice, notify_pb2.CorrectionNotice):
            request.correction.CopyFrom(notice)
        else:
            request.extract_deletion.CopyFrom(notice)
        await self._notify.EnqueueInstitutionNotice(request, timeout=timeout)

    async def tell_subject(
        self, source_id: str, subject: str, outcome: notify_pb2.CorrectionOutcome, timeout: float
    ) -> None:
        """The outcome of the subject's correction request, as a notice to them (idempotent on the source id)."""
        await self._notify.EnqueueNotice(
            notify_service_pb2.EnqueueNoticeRequest(
                source_id=source_id,
                subject=identity_pb2.NationalIdentityNumber(value=subject),
                correction_outcome=outcome,
            ),
            timeout=timeout,
        )

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()


class RoundReader:
    """lookup's side of ingest's ReadExtract: the instant, then each order's customers as ingest reads them."""

    def __init__(self, call: Any) -> None:
        self._call = call

    async def instant(self) -> datetime:
        try:
            reply = await self._call.read()
        except grpc.RpcError as error:
            raise _unavailable("ingest", error) from None
        return from_proto(reply.snapshot_time)

    async def order(
        self, order_id: uuid.UUID, creditors: Sequence[str], listed: AsyncIterator[list[str]]
    ) -> AsyncIterator[ingest_service_pb2.ExtractCustomer | ingest_service_pb2.ExtractOrderRead]:
        """The order's customers with their debts (ingest's own messages: a package is written from them), then
        its counts last."""
        start = ingest_service_pb2.ExtractOrderStart(
            order_id=str(order_id), creditors=[identity_pb2.OrganizationNumber(value=c) for c in creditors]
        )
        try:
            await self._call.write(ingest_service_pb2.ReadExtractRequest(order=start))
            async for numbers in listed:
                subjects = [identity_pb2.NationalIdentityNumber(value=n) for n in numbers]
                await self._call.write(
                    ingest_service_pb2.ReadExtractRequest(
                        customers=ingest_service_pb2.ListedCustomers(subjects=subjects)
                    )
                )
            await self._call.write(ingest_service_pb2.ReadExtractRequest(end=ingest_service_pb2.ExtractOrderEnd()))
            while True:
                reply = await self._call.read()
                if reply.WhichOneof("part") == "read":
                    yield reply.read
                    return
                for customer in reply.customers.customers:
                    yield customer
        except grpc.RpcError as error:
            raise _unavailable("ingest", error) from None

    async def close(self) -> None:
        await self._call.done_writing()
        self._call.cancel()


class LiveCreditors:
    """The institutions that answer live lookups, over gjeld.creditor.v1 (the NOGI per-customer endpoint).

    Every live creditor is asked at once; whatever has not answered when the wait is over is given up, and an
    answer that is not about the subject alone counts as no answer. Failures are logged by institution and status
    only: the subject is never named."""

    def __init__(self, channels: CreditorChannels) -> None:
        self._channels = channels

    async def _ask_one(self, creditor: Institution, subject: str, wait: float) -> list[Debt]:
        reply = await self._channels.stub(creditor).GetCustomerDebts(
            creditor_service_pb2.GetCustomerDebtsRequest(customer=identity_pb2.NationalIdentityNumber(value=subject)),
            timeout=wait,
        )
        if any(d.debtor.value != subject for d in reply.debts):
            raise ValueError("the answer holds debts of another debtor")
        # The creditor answers about its own debts, as of now.
        answered_at, debts = datetime.now(UTC), []
        for message in reply.debts:
            debt = convert.debt_from_proto(message, creditor.organization_number, answered_at)
            if debt is None:
                raise ValueError("the answer holds debts without terms")
            debts.append(debt)
        return debts

    async def ask(self, creditors: Sequence[Institution], subject: str, wait: float) -> dict[str, list[Debt]]:
        """The live answers that came within `wait` seconds, by organisation number."""
        if not creditors or wait <= 0:
            return {}
        tasks = {asyncio.create_task(self._ask_one(c, subject, wait)): c for c in creditors}
        done, pending = await asyncio.wait(tasks, timeout=wait)
        for task in pending:
            task.cancel()
        answers: dict[str, list[Debt]] = {}
        for task in done:
            creditor = tasks[task]
            error = task.exception()
            if error is None:
                answers[creditor.organization_number] = task.result()
            else:
                code = error.code().name if isinstance(error, grpc.RpcError) else type(error).__name__
                log.info("live creditor %s did not answer: %s", creditor.organization_number, code)
        return answers

    async def close(self) -> None:
        await self._channels.close()
