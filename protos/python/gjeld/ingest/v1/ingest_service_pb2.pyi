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

class ReportDebtChangesRequest(_message.Message):
    __slots__ = ("request_id", "changes", "strictness")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    STRICTNESS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    changes: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.DebtChange]
    strictness: _ingest_pb2.Strictness
    def __init__(self, request_id: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[_ingest_pb2.DebtChange, _Mapping]]] = ..., strictness: _Optional[_Union[_ingest_pb2.Strictness, str]] = ...) -> None: ...

class ReportDebtChangesResponse(_message.Message):
    __slots__ = ("delivery", "rejections")
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    delivery: _ingest_pb2.Delivery
    rejections: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.RecordRejection]
    def __init__(self, delivery: _Optional[_Union[_ingest_pb2.Delivery, _Mapping]] = ..., rejections: _Optional[_Iterable[_Union[_ingest_pb2.RecordRejection, _Mapping]]] = ...) -> None: ...

class StreamDebtChangesRequest(_message.Message):
    __slots__ = ("request_id", "changes", "strictness")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    STRICTNESS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    changes: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.DebtChange]
    strictness: _ingest_pb2.Strictness
    def __init__(self, request_id: _Optional[str] = ..., changes: _Optional[_Iterable[_Union[_ingest_pb2.DebtChange, _Mapping]]] = ..., strictness: _Optional[_Union[_ingest_pb2.Strictness, str]] = ...) -> None: ...

class StreamDebtChangesResponse(_message.Message):
    __slots__ = ("delivery", "rejections")
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    delivery: _ingest_pb2.Delivery
    rejections: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.RecordRejection]
    def __init__(self, delivery: _Optional[_Union[_ingest_pb2.Delivery, _Mapping]] = ..., rejections: _Optional[_Iterable[_Union[_ingest_pb2.RecordRejection, _Mapping]]] = ...) -> None: ...

class DeliverSnapshotRequest(_message.Message):
    __slots__ = ("request_id", "strictness", "extract_time", "debts")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STRICTNESS_FIELD_NUMBER: _ClassVar[int]
    EXTRACT_TIME_FIELD_NUMBER: _ClassVar[int]
    DEBTS_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    strictness: _ingest_pb2.Strictness
    extract_time: _timestamp_pb2.Timestamp
    debts: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.Debt]
    def __init__(self, request_id: _Optional[str] = ..., strictness: _Optional[_Union[_ingest_pb2.Strictness, str]] = ..., extract_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., debts: _Optional[_Iterable[_Union[_ingest_pb2.Debt, _Mapping]]] = ...) -> None: ...

class DeliverSnapshotResponse(_message.Message):
    __slots__ = ("delivery", "rejections")
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    delivery: _ingest_pb2.Delivery
    rejections: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.RecordRejection]
    def __init__(self, delivery: _Optional[_Union[_ingest_pb2.Delivery, _Mapping]] = ..., rejections: _Optional[_Iterable[_Union[_ingest_pb2.RecordRejection, _Mapping]]] = ...) -> None: ...

class GetDeliveryRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetDeliveryResponse(_message.Message):
    __slots__ = ("delivery",)
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    delivery: _ingest_pb2.Delivery
    def __init__(self, delivery: _Optional[_Union[_ingest_pb2.Delivery, _Mapping]] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries", "next_page_token")
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.Delivery]
    next_page_token: str
    def __init__(self, deliveries: _Optional[_Iterable[_Union[_ingest_pb2.Delivery, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListDeliveryRejectionsRequest(_message.Message):
    __slots__ = ("delivery_id", "page_size", "page_token")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    page_size: int
    page_token: str
    def __init__(self, delivery_id: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDeliveryRejectionsResponse(_message.Message):
    __slots__ = ("rejections", "next_page_token")
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    rejections: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.RecordRejection]
    next_page_token: str
    def __init__(self, rejections: _Optional[_Iterable[_Union[_ingest_pb2.RecordRejection, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

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

class ProposeHandoverRequest(_message.Message):
    __slots__ = ("receiver", "account_ids", "request_id")
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    receiver: _identity_pb2.OrganizationNumber
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, receiver: _Optional[_Union[_identity_pb2.OrganizationNumber, _Mapping]] = ..., account_ids: _Optional[_Iterable[str]] = ..., request_id: _Optional[str] = ...) -> None: ...

class AcceptHandoverRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ProposeHandoverResponse(_message.Message):
    __slots__ = ("handover",)
    HANDOVER_FIELD_NUMBER: _ClassVar[int]
    handover: _ingest_pb2.Handover
    def __init__(self, handover: _Optional[_Union[_ingest_pb2.Handover, _Mapping]] = ...) -> None: ...

class AcceptHandoverResponse(_message.Message):
    __slots__ = ("handover",)
    HANDOVER_FIELD_NUMBER: _ClassVar[int]
    handover: _ingest_pb2.Handover
    def __init__(self, handover: _Optional[_Union[_ingest_pb2.Handover, _Mapping]] = ...) -> None: ...

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

class FetchSnapshotRequest(_message.Message):
    __slots__ = ("institution",)
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    institution: _identity_pb2.OrganizationNumber
    def __init__(self, institution: _Optional[_Union[_identity_pb2.OrganizationNumber, _Mapping]] = ...) -> None: ...

class FetchSnapshotResponse(_message.Message):
    __slots__ = ("delivery", "rejections")
    DELIVERY_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    delivery: _ingest_pb2.Delivery
    rejections: _containers.RepeatedCompositeFieldContainer[_ingest_pb2.RecordRejection]
    def __init__(self, delivery: _Optional[_Union[_ingest_pb2.Delivery, _Mapping]] = ..., rejections: _Optional[_Iterable[_Union[_ingest_pb2.RecordRejection, _Mapping]]] = ...) -> None: ...
