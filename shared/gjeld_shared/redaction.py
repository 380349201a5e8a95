"""Masking identity numbers in text that leaves a service: log lines, tracebacks, exception texts and the error
texts a service stores or returns (DOM-15).

The numbers are kept out at the source (stored as keyed hashes, never put into messages); this is the second
line of defence for text we do not write ourselves, such as a driver's error or a traceback. A run of exactly
11 digits is masked when both of its check digits fit an identity number of any kind (ordinary, D-number,
synthetic, the 2032 change), whether or not it holds a real date: a number that merely looks wrong is still
masked. Other 11-digit runs (order ids, references) stay as they are. About one in thirty 11-digit runs fits
by chance and is masked too, and so is about one Norwegian bank account number in three (its check digit is
the identity number's second); that is the price of missing none.
"""

from __future__ import annotations

import logging
import re

from .identity_numbers import has_check_digits

MASK = "<identity-number>"

# ASCII digits only: identity numbers are ASCII, and `\d` would also take other scripts' digits as neighbours.
_ELEVEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{11}(?![0-9])")


def _mask(match: re.Match[str]) -> str:
    return MASK if has_check_digits(match.group()) else match.group()


def redact(text: str) -> str:
    """The text with every identity number in it masked."""
    return _ELEVEN_DIGITS.sub(_mask, text)


def redact_exception(error: BaseException) -> None:
    """Mask identity numbers in an exception's text, in place, along its chain of causes.

    For the errors of database drivers, which quote what they were given (asyncpg's "invalid input for query
    argument $1: …", PostgreSQL's DETAIL "Key (…)=(…) already exists"): the text lives in the exception's
    arguments and, for asyncpg, in string attributes such as `detail` and `hint`.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.args = tuple(redact(a) if isinstance(a, str) else a for a in current.args)
        for name, value in list(vars(current).items()):
            if isinstance(value, str):
                setattr(current, name, redact(value))
        current = current.__cause__ or current.__context__


class RedactingFormatter(logging.Formatter):
    """Formats a record as usual, then masks identity numbers in the whole text: the message, its traceback and
    its stack (a filter sees only the message, and exc_info is formatted after filters run)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
