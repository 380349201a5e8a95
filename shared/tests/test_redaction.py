"""DOM-15 in failure paths: identity numbers are masked in log lines and tracebacks, kept out of database errors,
and ordinary 11-digit ids are left alone."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator

import pytest
from gjeld_shared.redaction import MASK, redact
from gjeld_shared.telemetry import configure_logging

PERSON = "14842249091"  # synthetic (month + 80)
ORDER_ID = "12345678901"  # eleven digits whose check digits fit no identity number


@pytest.mark.parametrize(
    "number",
    [
        PERSON,
        "41019010110",  # a D-number (day + 40)
        "01019010062",  # first check sum leaves 2: issued from 2032
        "31029010059",  # both check digits fit, but 31 February is no date: masked all the same
    ],
)
def test_numbers_with_identity_check_digits_are_masked(number: str) -> None:
    # Breaking it (accepting only a first remainder of 0, as before 2032) fails for the 2032 number.
    assert redact(f"subject={number}, again:{number}.") == f"subject={MASK}, again:{MASK}."


def test_other_runs_of_digits_are_left_alone() -> None:
    # Breaking it (masking every 11-digit run, as the old filter did) fails here.
    text = f"order {ORDER_ID}, {PERSON[:-1]}2, organisation 999888777, 0{PERSON}, account 12345678903"
    assert redact(text) == text


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Undoes configure_logging after the test."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook, threading.excepthook
    try:
        yield
    finally:
        root.handlers[:], level, sys.excepthook, threading.excepthook = saved
        root.setLevel(level)


@pytest.mark.usefixtures("restored_logging")
def test_a_traceback_and_a_stack_are_redacted_like_the_message(capsys: pytest.CaptureFixture[str]) -> None:
    # Breaking it (configure_logging with a plain logging.Formatter and the old message-only filter, or logging's
    # own handleError) fails here.
    configure_logging("gjeld-test")

    def look_up(subject: str) -> None:
        raise LookupError(f"no debts for {subject}")

    try:
        look_up(PERSON)
    except LookupError:
        logging.getLogger("gjeld.test").exception("lookup of %s for order %s failed", PERSON, ORDER_ID)

    def warn(subject: str) -> None:
        logging.getLogger("gjeld.test").warning("looking up", stack_info=True)

    warn("14842249091")  # the stack quotes this line
    logging.getLogger("gjeld.test").error("lookup of %d failed", PERSON)  # a bad format: logging reports it
    try:
        look_up(PERSON)
    except LookupError:
        sys.excepthook(*sys.exc_info())  # what Python does with an exception that nothing caught
    written = capsys.readouterr().err
    assert written.count(f"no debts for {MASK}") == 2 and f'warn("{MASK}")' in written
    assert "--- Logging error ---" in written and f"'lookup of %d failed' % ('{MASK}',)" in written
    assert f"lookup of {MASK} for order {ORDER_ID} failed" in written
    assert PERSON not in written
