"""National identity numbers (fødselsnummer, D-number, synthetic test numbers), DOM-4 and DOM-15.

An identity number is personal data. Nothing in this module ever puts one into an
exception message: errors say what is wrong, never what the number was.

Stored numbers are kept as a keyed hash (the blind index used for equality) and,
where the number must be recovered, an authenticated encryption; both carry the
version of their key so that keys can be rotated (`SubjectKeys`, and the key file
that `load_subject_keys` reads).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_FIRST_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
_SECOND_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
# From 1 January 2032 the tax authority may issue numbers whose first check sum leaves
# a remainder of 0, 1, 2 or 3 (the "2032 change"); before that only 0.
CHECK_DIGIT_CHANGE = date(2032, 1, 1)
FIRST_CHECK_REMAINDERS_FROM_2032 = (0, 1, 2, 3)


class InvalidIdentityNumber(ValueError):
    """The value is not a valid identity number. The message never contains the value."""


def _birth_year(two_digits: int, individual: int) -> int | None:
    # The individual number (digits 7-9) tells the century (Skatteetaten's ranges).
    if individual <= 499:
        return 1900 + two_digits
    if individual <= 749 and two_digits >= 54:
        return 1800 + two_digits
    if individual >= 500 and two_digits <= 39:
        return 2000 + two_digits
    if individual >= 900 and two_digits >= 40:
        return 1900 + two_digits
    return None


def _is_eleven_digits(value: str) -> bool:
    return len(value) == 11 and value.isascii() and value.isdigit()


def _check_remainders(value: str) -> tuple[int, int]:
    """The remainders (mod 11) of the two check sums of 11 ASCII digits, check digits included."""
    # Unrolled: this runs for every debt a bank delivers (millions a day).
    d = [c - 48 for c in value.encode("ascii")]
    first = 3 * d[0] + 7 * d[1] + 6 * d[2] + d[3] + 8 * d[4] + 9 * d[5] + 4 * d[6] + 5 * d[7] + 2 * d[8] + d[9]
    second = 5 * d[0] + 4 * d[1] + 3 * d[2] + 2 * d[3] + 7 * d[4] + 6 * d[5] + 5 * d[6] + 4 * d[7] + 3 * d[8]
    return first % 11, (second + 2 * d[9] + d[10]) % 11


def has_check_digits(value: str) -> bool:
    """True if the value is 11 digits whose check digits fit an identity number of any kind and any year
    (the 2032 change included), whatever its date of birth: what redaction must treat as one."""
    if not _is_eleven_digits(value):
        return False
    first, second = _check_remainders(value)
    return first in FIRST_CHECK_REMAINDERS_FROM_2032 and second == 0


def validate(value: str, *, today: date | None = None) -> str:
    """Return the number if it is a valid identity number, else raise InvalidIdentityNumber.

    Accepts ordinary numbers, D-numbers (day + 40) and synthetic test numbers
    (month + 80), and from 2032 the changed first check digit (DOM-4).
    """
    if not _is_eleven_digits(value):
        raise InvalidIdentityNumber("must be exactly 11 digits")
    first, second = _check_remainders(value)
    allowed = FIRST_CHECK_REMAINDERS_FROM_2032 if (today or date.today()) >= CHECK_DIGIT_CHANGE else (0,)
    if first not in allowed:
        raise InvalidIdentityNumber("first check digit is wrong")
    if second != 0:
        raise InvalidIdentityNumber("second check digit is wrong")
    birth_date(value)
    return value


def birth_date(value: str) -> date:
    """The date of birth an identity number holds (D-numbers and synthetic numbers included); InvalidIdentityNumber
    when it holds none. The check digits are not checked: see `validate`."""
    day, month, year2 = int(value[0:2]), int(value[2:4]), int(value[4:6])
    if day > 40:
        day -= 40  # D-number
    if month > 80:
        month -= 80  # synthetic test number
    year = _birth_year(year2, int(value[6:9]))
    if year is None:
        raise InvalidIdentityNumber("individual number does not fit the birth year")
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidIdentityNumber("is not a valid date of birth") from None


def sex(value: str) -> str:
    """The person's sex as the number's ninth digit says: "female" (even) or "male" (odd). (Numbers issued under the
    2032 change no longer carry it; they cannot be told apart from the number, and are counted as its digit says.)"""
    return "male" if int(value[8]) % 2 else "female"


def age(value: str, on: date) -> int:
    """The person's age in whole years on a day."""
    born = birth_date(value)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def is_synthetic(value: str) -> bool:
    """True for a synthetic test number (month + 80), the only kind used outside production."""
    return int(value[2:4]) > 80


def synthetic(birth: date, individual: int) -> str | None:
    """The synthetic test number (month + 80) for a birth date and individual number (000-999),
    or None where no check digit fits (about one in six). For test data: never a real person."""
    stem = [int(c) for c in f"{birth.day:02d}{birth.month + 80:02d}{birth.year % 100:02d}{individual:03d}"]
    first = (11 - sum(w * d for w, d in zip(_FIRST_WEIGHTS, stem, strict=False)) % 11) % 11
    if first == 10:
        return None
    second = (11 - sum(w * d for w, d in zip(_SECOND_WEIGHTS, [*stem, first], strict=False)) % 11) % 11
    if second == 10:
        return None
    return "".join(map(str, stem)) + f"{first}{second}"


class UnknownKey(ValueError):
    """A ciphertext sealed with a key this process does not hold (yet: a replica started before a rotation)."""


@dataclass(frozen=True)
class SubjectKeys:
    """The secrets that protect identity numbers at rest (DOM-15), each kind with versions so it can rotate.

    Index keys (version 1-255) make the blind index, the keyed hash that stands for a number wherever
    equality is all that is needed, and the keyed digests of request content. A blind index is the version
    byte and a chained HMAC-SHA256: at the lowest version v0 it is HMAC(k_v0, number), at each next version
    present v it is HMAC(k_v, the previous 32-byte mac). `rewrap` therefore brings a stored index up to the
    current version without the number. Chained, because then no service has to keep a recoverable number
    only to be able to rotate, and after a rotation a leaked old key alone no longer links the stored
    indexes to numbers. The chain needs every index key: they all stay in the key file, and the current one
    is the newest.

    Encryption keys (id 0-255, 256-bit AES-GCM) encrypt numbers that must be recovered; the ciphertext
    starts with the key id. Only the current one encrypts; an old one may leave the file once every
    ciphertext has been re-encrypted (`python -m gjeld_<service> rekey`).
    """

    index_keys: dict[int, bytes]
    current_index_key_id: int
    encryption_keys: dict[int, bytes]
    current_key_id: int
    _chain: tuple[tuple[int, bytes], ...] = field(init=False, repr=False, compare=False)
    _aead: dict[int, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for version, key in self.index_keys.items():
            if not 1 <= version <= 255 or len(key) < 32:
                raise ValueError("index keys need a version 1-255 and at least 32 bytes")
        if self.current_index_key_id != max(self.index_keys, default=None):
            raise ValueError("the current index key must be the newest one (the chain runs up to it)")
        if self.current_key_id not in self.encryption_keys:
            raise ValueError("the current encryption key id has no key")
        for key_id, key in self.encryption_keys.items():
            if not 0 <= key_id <= 255 or len(key) != 32:
                raise ValueError("encryption keys need an id 0-255 and 32 bytes")
        object.__setattr__(self, "_chain", tuple(sorted(self.index_keys.items())))
        object.__setattr__(self, "_aead", {key_id: AESGCM(key) for key_id, key in self.encryption_keys.items()})

    @classmethod
    def generate(cls) -> SubjectKeys:
        """Fresh random keys, version 1 of each, for development and tests."""
        return cls({1: os.urandom(32)}, 1, {1: os.urandom(32)}, 1)

    def rotated(self, *, index_key: bool = False, encryption_key: bool = False) -> SubjectKeys:
        """These keys with a fresh random index key and/or encryption key, one id above the newest, made current."""
        index_keys, index_id = dict(self.index_keys), self.current_index_key_id
        encryption_keys, key_id = dict(self.encryption_keys), self.current_key_id
        if index_key:
            index_id = max(index_keys) + 1
            index_keys[index_id] = os.urandom(32)
        if encryption_key:
            key_id = max(encryption_keys) + 1
            encryption_keys[key_id] = os.urandom(32)
        return SubjectKeys(index_keys, index_id, encryption_keys, key_id)

    def _chained(self, mac: bytes, after: int) -> bytes:
        """The 33-byte versioned value of `mac`, made at version `after`, carried up to the current version."""
        for version, key in self._chain:
            if version > after:
                mac = hmac.digest(key, mac, hashlib.sha256)
        return bytes([self.current_index_key_id]) + mac

    def blind_index(self, number: str) -> bytes:
        """The keyed hash that stands for the number wherever equality is all that is needed:
        the current index key version (1 byte) and the chained HMAC-SHA256 (32 bytes)."""
        first, key = self._chain[0]
        return self._chained(hmac.digest(key, number.encode("ascii"), hashlib.sha256), first)

    def rewrap(self, index: bytes) -> bytes:
        """A stored blind index (or digest) of any version, brought up to the current version.

        Raises ValueError for a value of an unknown version (or not a versioned value at all)."""
        if len(index) != 33:
            raise ValueError("a versioned blind index is 33 bytes")
        if index[0] not in self.index_keys:
            raise ValueError("no index key for this blind index's version")
        return self._chained(index[1:], index[0])

    def digest(self, data: bytes) -> bytes:
        """A keyed digest of request content that may hold identity numbers (for idempotency checks),
        versioned and chained as the blind index is, so a stored digest rewraps and retries still match."""
        digester = self.digester()
        digester.update(data)
        return digester.digest()

    def digester(self) -> KeyedDigest:
        """`digest` for content that arrives in parts: update() with each part, then digest()."""
        return KeyedDigest(self)

    def encrypt(self, number: str) -> bytes:
        """An identity number (or a list of them, one a line) sealed: see `seal`."""
        return self.seal(number.encode("ascii"))

    def decrypt(self, blob: bytes) -> str:
        return self.unseal(blob).decode("ascii")

    def seal(self, data: bytes, context: bytes = b"") -> bytes:
        """key id (1 byte) + nonce (12 bytes) + AES-GCM ciphertext, bound to the key id: personal data at rest (identity
        numbers, a score-model package). `context` (associated data: not stored, needed again to unseal) binds the
        ciphertext to where it belongs, the row and column it is stored in, so that it cannot be moved elsewhere.
        Without a context the ciphertext is the same as before there was one."""
        key_id = bytes([self.current_key_id])
        nonce = os.urandom(12)
        return key_id + nonce + self._aead[self.current_key_id].encrypt(nonce, data, key_id + context)

    def unseal(self, blob: bytes, context: bytes = b"") -> bytes:
        """The data sealed in `blob` with this `context`; cryptography's InvalidTag if either was changed."""
        key_id = blob[0]
        if key_id not in self._aead:
            raise UnknownKey("no key for this ciphertext's key id")
        return self._aead[key_id].decrypt(blob[1:13], blob[13:], blob[:1] + context)

    def derive(self, purpose: str) -> bytes:
        """A 256-bit key for another purpose of this service (page tokens), derived from the current encryption key
        (HKDF-SHA256), so the service needs no further secret; it changes when that key rotates."""
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"gjeld:{purpose}".encode()).derive(
            self.encryption_keys[self.current_key_id]
        )

    def reencrypt(self, blob: bytes) -> bytes:
        """A ciphertext under the current encryption key (unchanged if it already is)."""
        return blob if blob[0] == self.current_key_id else self.seal(self.unseal(blob))


class KeyedDigest:
    """A keyed digest being computed over content that arrives in parts (see `SubjectKeys.digest`)."""

    def __init__(self, keys: SubjectKeys) -> None:
        first, key = keys._chain[0]
        self._keys, self._first = keys, first
        # The prefix keeps a digest from ever equalling a blind index.
        self._mac = hmac.new(key, b"digest:", hashlib.sha256)

    def update(self, data: bytes) -> None:
        self._mac.update(data)

    def digest(self) -> bytes:
        """The digest of the content so far (more may follow)."""
        return self._keys._chained(self._mac.digest(), self._first)


def load_subject_keys(path: Path) -> SubjectKeys:
    """Read a key file (a Kubernetes secret mounted as a file), keys in base64:

        {"index_keys": {"<version>": b64}, "current_index_key_id": n,
         "encryption_keys": {"<id>": b64}, "current_key_id": n}

    A file from before index keys had versions, {"index_key": b64, ...}, is read as index key version 1."""
    raw = json.loads(path.read_text())
    if "index_keys" in raw:
        index_keys = {int(k): base64.b64decode(v) for k, v in raw["index_keys"].items()}
        current_index_key_id = int(raw["current_index_key_id"])
    else:
        index_keys, current_index_key_id = {1: base64.b64decode(raw["index_key"])}, 1
    return SubjectKeys(
        index_keys,
        current_index_key_id,
        {int(k): base64.b64decode(v) for k, v in raw["encryption_keys"].items()},
        int(raw["current_key_id"]),
    )


def dump_subject_keys(keys: SubjectKeys) -> str:
    """The key file's text for `keys` (see `load_subject_keys`)."""

    def encoded(keys: dict[int, bytes]) -> dict[str, str]:
        return {str(k): base64.b64encode(v).decode() for k, v in sorted(keys.items())}

    return json.dumps(
        {
            "index_keys": encoded(keys.index_keys),
            "current_index_key_id": keys.current_index_key_id,
            "encryption_keys": encoded(keys.encryption_keys),
            "current_key_id": keys.current_key_id,
        },
        indent=2,
    )
