"""Timestamps between Python and the contract: our fast conversion gives exactly what protobuf's own does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from gjeld_shared.timestamps import from_proto, to_proto
from google.protobuf import timestamp_pb2
from hypothesis import given
from hypothesis import strategies as st

ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-9, minutes=-30))])


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=ZONES))
def test_to_proto_is_protobufs_own_conversion(moment: datetime) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(moment)
    assert to_proto(moment) == expected
    assert from_proto(to_proto(moment)) == (moment if moment.tzinfo else moment.replace(tzinfo=UTC))
