from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NationalIdentityNumber(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

class OrganizationNumber(_message.Message):
    __slots__ = ("value",)
    VALUE_FIELD_NUMBER: _ClassVar[int]
    value: str
    def __init__(self, value: _Optional[str] = ...) -> None: ...

class Institution(_message.Message):
    __slots__ = ("organization_number", "name", "postal_address", "phone")
    ORGANIZATION_NUMBER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    POSTAL_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    organization_number: OrganizationNumber
    name: str
    postal_address: _containers.RepeatedScalarFieldContainer[str]
    phone: str
    def __init__(self, organization_number: _Optional[_Union[OrganizationNumber, _Mapping]] = ..., name: _Optional[str] = ..., postal_address: _Optional[_Iterable[str]] = ..., phone: _Optional[str] = ...) -> None: ...
