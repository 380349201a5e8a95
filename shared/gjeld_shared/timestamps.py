"""Timestamps between Python and the contract."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf import timestamp_pb2


def to_proto(moment: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def from_proto(stamp: timestamp_pb2.Timestamp) -> datetime:
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)
    return moment


def now() -> datetime:
    return datetime.now(UTC)
