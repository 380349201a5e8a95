"""Timestamps between Python and the contract."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def to_proto(moment: datetime) -> timestamp_pb2.Timestamp:
    """A moment as a Timestamp (a moment without a zone is taken as UTC, as protobuf's FromDatetime takes it),
    exact to the microsecond; worked out with datetime's own arithmetic, several times faster than FromDatetime."""
    since = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)) - EPOCH
    return timestamp_pb2.Timestamp(seconds=since // SECOND, nanos=(since % SECOND).microseconds * 1000)


def from_proto(stamp: timestamp_pb2.Timestamp) -> datetime:
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)
    return moment


def now() -> datetime:
    return datetime.now(UTC)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (the last day of a shorter month): "within one month" (GDPR art. 12(3)), "three
    months" (§10)."""
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")
