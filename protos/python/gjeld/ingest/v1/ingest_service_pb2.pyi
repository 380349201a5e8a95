from gjeld.ingest.v1 import ingest_pb2 as _ingest_pb2
from gjeld.type.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReportDebtChangesRequest(_message.Message):
    __slots__ = ("request_id", "changes")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    changes: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.DebtChange]
    def __init__(self, request_id: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[_ingest_pb2.DebtChange, _Mapping]]] = ...) -> None: ...

class ReportDebtChangesResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: _ingest_pb2.Delivery
    def __init__(self, delivery: _Optional[_Union[_ingest_pb2.Delivery, _Mapping]] = ...) -> None: ...

class ListDebtsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDebtsResponse(_message.Message):
    __slots__ = ("debts", "next_page_token")
    DEBTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    debts: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.Debt]
    next_page_token: str
    def __init__(self, debts: _Optional[_Iterable[_Union[_ingest_pb2.Debt, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListSubjectDebtsRequest(_message.Message):
    __slots__ = ("subject",)
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    subject: _identity_pb2.NationalIdentityNumber
    def __init__(self, subject: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ...) -> None: ...

class ListSubjectDebtsResponse(_message.Message):
    __slots__ = ("debts",)
    DEBTS_FIELD_NUMBER: _ClassVar[int]
    debts: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.Debt]
    def __init__(self, debts: _Optional[_Iterable[_Union[_ingest_pb2.Debt, _Mapping]]] = ...) -> None: ...
