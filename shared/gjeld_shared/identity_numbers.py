"""National identity numbers (fødselsnummer, D-number, synthetic test numbers), DOM-4 and DOM-15.

An identity number is personal data. Nothing in this module ever puts one into an
exception message: errors say what is wrong, never what the number was.

Stored numbers are kept as a keyed hash (the blind index used for equality) and,
where the number must be recovered, an authenticated encryption with a key id so
that keys can be rotated.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from datetime import date

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

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
    day, month, year2 = int(value[0:2]), int(value[2:4]), int(value[4:6])
    if day > 40:
        day -= 40  # D-number
    if month > 80:
        month -= 80  # synthetic test number
    year = _birth_year(year2, int(value[6:9]))
    if year is None:
        raise InvalidIdentityNumber("individual number does not fit the birth year")
    try:
        date(year, month, day)
    except ValueError:
        raise InvalidIdentityNumber("is not a valid date of birth") from None
    return value


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


@dataclass(frozen=True)
class SubjectKeys:
    """The secrets that protect identity numbers at rest (DOM-15).

    index_key keys the HMAC-SHA256 blind index; encryption_keys maps a one-byte key
    id to a 256-bit AES-GCM key, and current_key_id says which one encrypts.
    """

    index_key: bytes
    encryption_keys: dict[int, bytes]
    current_key_id: int
    _aead: dict[int, AESGCM] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.index_key) < 32:
            raise ValueError("the subject index key must be at least 32 bytes")
        if self.current_key_id not in self.encryption_keys:
            raise ValueError("the current encryption key id has no key")
        for key_id, key in self.encryption_keys.items():
            if not 0 <= key_id <= 255 or len(key) != 32:
                raise ValueError("encryption keys need an id 0-255 and 32 bytes")
            self._aead[key_id] = AESGCM(key)

    @classmethod
    def generate(cls) -> SubjectKeys:
        """Fresh random keys, for development and tests."""
        return cls(index_key=os.urandom(32), encryption_keys={1: os.urandom(32)}, current_key_id=1)

    def blind_index(self, number: str) -> bytes:
        """The keyed hash that stands for the number wherever equality is all that is needed."""
        return hmac.new(self.index_key, number.encode("ascii"), hashlib.sha256).digest()

    def digest(self, data: bytes) -> bytes:
        """A keyed digest of request content that may hold identity numbers (for idempotency checks)."""
        digester = self.digester()
        digester.update(data)
        return digester.digest()

    def digester(self) -> hmac.HMAC:
        """`digest` for content that arrives in parts: update() with each part, then digest()."""
        return hmac.new(self.index_key, b"digest:", hashlib.sha256)

    def encrypt(self, number: str) -> bytes:
        """key id (1 byte) + nonce (12 bytes) + AES-GCM ciphertext, bound to the key id."""
        key_id = bytes([self.current_key_id])
        nonce = os.urandom(12)
        return key_id + nonce + self._aead[self.current_key_id].encrypt(nonce, number.encode("ascii"), key_id)

    def decrypt(self, blob: bytes) -> str:
        key_id = blob[0]
        if key_id not in self._aead:
            raise ValueError("no key for this ciphertext's key id")
        return self._aead[key_id].decrypt(blob[1:13], blob[13:], blob[:1]).decode("ascii")
