import datetime

from gjeld.ingest.v1 import ingest_pb2 as _ingest_pb2
from gjeld.type.v1 import identity_pb2 as _identity_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetCustomerDebtsRequest(_message.Message):
    __slots__ = ("customer",)
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: _identity_pb2.NationalIdentityNumber
    def __init__(self, customer: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ...) -> None: ...

class GetCustomerDebtsResponse(_message.Message):
    __slots__ = ("debts",)
    DEBTS_FIELD_NUMBER: _ClassVar[int]
    debts: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.Debt]
    def __init__(self, debts: _Optional[_Iterable[_Union[_ingest_pb2.Debt, _Mapping]]] = ...) -> None: ...

class ExportDebtsRequest(_message.Message):
    __slots__ = ("extract_time",)
    EXTRACT_TIME_FIELD_NUMBER: _ClassVar[int]
    extract_time: _timestamp_pb2.Timestamp
    def __init__(self, extract_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ExportDebtsResponse(_message.Message):
    __slots__ = ("extract_time", "debts")
    EXTRACT_TIME_FIELD_NUMBER: _ClassVar[int]
    DEBTS_FIELD_NUMBER: _ClassVar[int]
    extract_time: _timestamp_pb2.Timestamp
    debts: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.Debt]
    def __init__(self, extract_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., debts: _Optional[_Iterable[_Union[_ingest_pb2.Debt, _Mapping]]] = ...) -> None: ...
