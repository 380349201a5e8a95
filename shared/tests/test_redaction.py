"""DOM-15 in failure paths: identity numbers are masked in log lines and tracebacks, kept out of database errors,
and ordinary 11-digit ids are left alone."""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from collections.abc import AsyncIterator, Iterator

import pytest
from gjeld_shared import db
from gjeld_shared.errors import AlreadyExists, FieldViolation, InvalidArgument, Violations, to_status
from gjeld_shared.redaction import MASK, redact
from gjeld_shared.telemetry import configure_logging
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

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


@pytest.fixture
async def engine(postgres: str, database: str) -> AsyncIterator[tuple[AsyncEngine, InMemorySpanExporter]]:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    made = db.create_engine(f"postgresql+asyncpg://postgres@/{database}?host={postgres}", tracer_provider=provider)
    async with made.begin() as connection:
        await connection.execute(text("CREATE TABLE subjects (number text PRIMARY KEY)"))
    yield made, spans
    await made.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        # Fails on the server with the number only in the parameters. Break: hide_parameters=False.
        "SELECT 1 / (length(:number) - 11)",
        # The driver refuses the parameter and quotes it ("invalid input for query argument $1: '…'").
        # Break: no handle_error listener in db.create_engine.
        "SELECT CAST(:number AS integer) + 1",
        # PostgreSQL's DETAIL quotes the key: "Key (number)=(…) already exists". Break: as above.
        "INSERT INTO subjects VALUES (:number)",
    ],
)
async def test_a_database_error_holds_no_identity_number(
    engine: tuple[AsyncEngine, InMemorySpanExporter], statement: str, caplog: pytest.LogCaptureFixture
) -> None:
    made, spans = engine
    async with made.connect() as connection:
        await connection.execute(text("INSERT INTO subjects VALUES (:number)"), {"number": PERSON})
        await connection.commit()
        with pytest.raises(exc.DBAPIError) as failed:
            await connection.execute(text(statement), {"number": PERSON})
    error = failed.value
    logging.getLogger("gjeld.test").error("query failed", exc_info=error)
    # The whole chain of causes, driver errors included, as an unredacted formatter would log it.
    written = "".join(traceback.format_exception(error)) + caplog.text
    assert "query failed" in caplog.text and error.orig is not None and error.orig.__cause__ is not None
    assert PERSON not in written and PERSON not in repr(error.orig.__cause__.__dict__)
    statuses = [s.status.description or "" for s in spans.get_finished_spans()]
    assert any(statuses) and not any(PERSON in s for s in statuses)


def test_statuses_and_violations_hold_no_identity_number() -> None:
    # Errors may echo what a caller sent (its request id, its own consent id). Breaking it (to_status or
    # Violations.add without redact) fails here.
    violations = Violations()
    violations.add("debts[0].account_id", f"{PERSON} is not an account")
    assert violations.items[0].description == f"{MASK} is not an account"
    reused = AlreadyExists("REQUEST_ID_REUSED", f"request {PERSON} was used before", {"request_id": f"fnr-{PERSON}"})
    invalid = InvalidArgument([FieldViolation("subject.value", f"{PERSON} is unknown")])
    for error in (reused, invalid):
        status = to_status(error)
        sent = status.details.encode() + b"".join(value for _, value in status.trailing_metadata)
        assert PERSON.encode() not in sent and MASK.encode() in sent
