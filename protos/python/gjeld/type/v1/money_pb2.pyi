from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Money(_message.Message):
    __slots__ = ("minor_units",)
    MINOR_UNITS_FIELD_NUMBER: _ClassVar[int]
    minor_units: int
    def __init__(self, minor_units: _Optional[int] = ...) -> None: ...
