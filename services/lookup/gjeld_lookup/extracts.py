"""Score-model extracts (DOM-11, §5 and §10 of the regulation), plain Python without I/O: quarters and the four
rounds a year, reading an institution's list of customers, writing a package, and signing its manifest.

A package is the standard delivery format (NOGI JSON, gzipped) about the institution's existing loan customers (for
a credit bureau, its partner institutions' loan customers): for each, every debt they have at every creditor, as
lenders see debts (DOM-5): a lender's own accounts with their ids, another creditor's only by a number within the
person (`creditorNumber`, 1 being the lender itself) and without an account id; a bureau's package names no
account and no creditor. It is written as the customers come, in compressed pieces, so memory stays flat however
large the package.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import uuid
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from gjeld.ingest.v1 import ingest_pb2
from gjeld.lookup.v1 import lookup_pb2
from gjeld_shared import identity_numbers
from gjeld_shared.nogi import loan_of
from gjeld_shared.timestamps import to_proto

ROUNDS_A_YEAR = 4
DELETE_WITHIN_MONTHS = 3
CHUNK_BYTES = 1 << 20  # a package is kept and sent in pieces of at most this size
NUMBERS_PER_PART = 10_000  # a list is kept encrypted in parts of this many numbers
ENCODE_BATCH = 500  # customers encoded and compressed together


def quarter_of(moment: date) -> str:
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def round_year(quarter: str) -> int:
    """The year of the round that cuts a quarter's orders: the next quarter's first day (a Q4 order: next year)."""
    year, number = int(quarter[:4]), int(quarter[-1])
    return year + 1 if number == 4 else year


def quarters_cut_in(year: int) -> tuple[str, ...]:
    """The quarters whose orders the rounds of `year` cut."""
    return (f"{year - 1}-Q4", f"{year}-Q1", f"{year}-Q2", f"{year}-Q3")


@dataclass
class ListReport:
    """What a list held: lines, invalid lines, numbers listed twice; and the valid numbers, each once."""

    listed: int = 0
    invalid: int = 0
    duplicates: int = 0
    numbers: list[str] = field(default_factory=list)
    _seen: set[int] = field(default_factory=set, repr=False)

    def add(self, line: str) -> None:
        line = line.strip().lstrip("\ufeff")  # a byte order mark some editors put first is no part of a number
        if not line:
            return
        self.listed += 1
        try:
            identity_numbers.validate(line)
        except identity_numbers.InvalidIdentityNumber:
            self.invalid += 1
            return
        if int(line) in self._seen:
            self.duplicates += 1
            return
        self._seen.add(int(line))
        self.numbers.append(line)


class UnreadableList(ValueError):
    """A list file that is not text (the live registry's list is one number a line, UTF-8)."""


class ListFileReader:
    """The live registry's plain list file, read as its pieces arrive (a line may span two pieces)."""

    def __init__(self, report: ListReport) -> None:
        self._report = report
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._rest = ""

    def feed(self, content: bytes, final: bool = False) -> None:
        try:
            text = self._rest + self._decoder.decode(content, final=final)
        except UnicodeDecodeError:
            raise UnreadableList("the list file is not UTF-8 text: one identity number a line") from None
        if "\x00" in text:
            raise UnreadableList("the list file holds binary data: one identity number a line")
        lines = text.split("\n")
        self._rest = "" if final else lines.pop()
        for line in lines:
            self._report.add(line)

    def finish(self) -> None:
        self.feed(b"", final=True)


def parts(numbers: list[str]) -> Iterator[str]:
    """A list as it is kept: parts of NUMBERS_PER_PART numbers, one a line."""
    for start in range(0, len(numbers), NUMBERS_PER_PART):
        yield "\n".join(numbers[start : start + NUMBERS_PER_PART])


class PackageWriter:
    """A package as it is cut: customers in, gzipped NOGI JSON pieces out; its digest, size and count at the end."""

    def __init__(self, registry_number: str, institution: str, own: bool = True) -> None:
        """`own`: the institution's own accounts are named (a lender's); a bureau's package names no account."""
        self._institution = institution
        self._own = own
        self._gzip = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip; level 6: a third of 9's time, nearly its size
        self._digest = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.size = 0
        self.records = 0
        self._customers: list[dict[str, object]] = []
        self._encoded = 0
        self._write(f'{{"providerID":"9908:{registry_number}","customers":[')

    def _write(self, text: str) -> None:
        self._take(self._gzip.compress(text.encode()))

    def _take(self, data: bytes) -> None:
        if data:
            self._pending.append(data)
            self._pending_size += len(data)
            self._digest.update(data)
            self.size += len(data)

    def add(self, subject: str, debts: Iterable[ingest_pb2.Debt]) -> None:
        numbers: dict[str, int] = {self._institution: 1} if self._own else {}
        loans = []
        for debt in debts:
            creditor = debt.creditor.organization_number.value
            number = numbers.setdefault(creditor, len(numbers) + 1)
            loan = loan_of(debt)
            if creditor != self._institution or not self._own:
                loan["accountID"] = ""  # another creditor's account: not the recipient's to know (DOM-5)
            loan["creditorNumber"] = number
            loans.append(loan)
        self._customers.append({"customerID": subject, "financialInstitutionID": self._institution, "loans": loans})
        self.records += 1
        if len(self._customers) == ENCODE_BATCH:
            self._encode()

    def _encode(self) -> None:
        """The customers waiting, as JSON into the compressor: one encoding and compression for many customers."""
        if self._customers:
            text = json.dumps(self._customers, separators=(",", ":"))[1:-1]
            self._write(("," if self._encoded else "") + text)
            self._encoded += len(self._customers)
            self._customers = []

    def chunks(self, final: bool = False) -> Iterator[bytes]:
        """The compressed pieces ready to keep (all of them once `final`, which ends the package)."""
        if final:
            self._encode()
            self._write("]}")
            self._take(self._gzip.flush())
        if final or self._pending_size >= CHUNK_BYTES:
            data, self._pending, self._pending_size = b"".join(self._pending), [], 0
            for start in range(0, len(data), CHUNK_BYTES):
                yield data[start : start + CHUNK_BYTES]

    @property
    def sha256(self) -> bytes:
        return self._digest.digest()


@dataclass(frozen=True)
class Package:
    id: uuid.UUID
    round_id: uuid.UUID
    snapshot_time: datetime
    record_count: int
    sha256: bytes
    size: int
    delete_deadline: datetime


class ManifestSigner:
    """Signs packages' manifests with the registry's Ed25519 key; the key id is the public key's digest (first 16
    hex digits), so a recipient knows which of the registry's published keys to check against."""

    def __init__(self, private_key_pem: bytes) -> None:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("the extract signing key must be an Ed25519 key")
        self._key = key
        raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self.key_id = hashlib.sha256(raw).hexdigest()[:16]

    @property
    def key(self) -> ed25519.Ed25519PrivateKey:
        """The key itself, for the registry's other signed statements (the disclosure log's checkpoints)."""
        return self._key

    def manifest(self, package: Package) -> lookup_pb2.ExtractManifest:
        manifest = lookup_pb2.ExtractManifest(
            package_id=str(package.id),
            round_id=str(package.round_id),
            snapshot_time=to_proto(package.snapshot_time),
            record_count=package.record_count,
            sha256=package.sha256,
            size=package.size,
            delete_deadline=to_proto(package.delete_deadline),
        )
        manifest.key_id = self.key_id
        manifest.signature = self._key.sign(canonical(manifest))
        return manifest


def canonical(manifest: lookup_pb2.ExtractManifest) -> bytes:
    """What a manifest's signature covers: the manifest without key id and signature, serialized deterministically."""
    unsigned = lookup_pb2.ExtractManifest()
    unsigned.CopyFrom(manifest)
    unsigned.ClearField("key_id")
    unsigned.ClearField("signature")
    return unsigned.SerializeToString(deterministic=True)


def generate_signing_key() -> bytes:
    return ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def today() -> date:
    return datetime.now(UTC).date()
