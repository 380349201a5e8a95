"""notify's domain, without I/O: notices and how a notice reaches a subject (DOM-13).

The channel follows from the subject's contact details (from the population
register) and their own preferences: a digital mailbox where they have one;
otherwise e-mail, but only to an address they explicitly consented to; otherwise
a text message to their mobile number; otherwise a letter by post.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

from gjeld.notify.v1 import notify_pb2


class Channel(enum.Enum):
    DIGITAL_MAILBOX = "digital_mailbox"
    EMAIL = "email"
    SMS = "sms"
    POST = "post"


class NoticeState(enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the most attempts: in the operators' dead-letter list


@dataclass(frozen=True)
class Notice:
    """A notice to a subject and every copy letter it tells of, oldest first (the letters keep the contract's form:
    they are the content lookup sends and the subject reads). The subject is not part of it: only notify's
    delivery, which decrypts it, ever needs the number."""

    id: uuid.UUID
    source_id: str
    source_ids: list[str]
    letters: list[notify_pb2.CopyLetter]
    state: NoticeState
    channel: Channel | None  # unset until the first attempt
    attempts: int
    last_error: str
    create_time: datetime
    deliver_time: datetime | None
    # Or, instead of copy letters, the outcome of the subject's correction request (DOM-14).
    outcome: notify_pb2.CorrectionOutcome | None = None
    # Or an alert of a lookup made while the subject's identity-theft flag stood.
    alert: notify_pb2.IdentityTheftAlert | None = None


@dataclass(frozen=True)
class InstitutionNotice:
    """A notice in an institution's feed: a correction of data it received (DOM-14), a package's deletion deadline
    near (§10). `content` is the contract's message with its content set (the position and time are these)."""

    position: int
    create_time: datetime
    content: notify_pb2.InstitutionNotice


@dataclass(frozen=True)
class Contact:
    """A person's contact details as the population and contact registers hold them."""

    name: str
    postal_address: tuple[str, ...]
    digital_mailbox: bool = False
    mobile: str = ""
    # The digital mailbox's own address (KRR's postkasseadresse), by which the mailbox provider is sent the letter.
    mailbox_address: str = ""


@dataclass(frozen=True)
class Preferences:
    """A person's own choices: an e-mail address they consent to receive notices at (or none), and the language of
    their letters."""

    email: str = ""
    language: str = "nb"
    update_time: datetime | None = None


@dataclass(frozen=True)
class Message:
    """One notice, rendered: a title, the digital message text, the letter as a PDF, and a text message saying
    that it has come (an SMS carries no debt data)."""

    title: str
    text: str
    pdf: bytes
    sms: str = ""


def choose_channel(contact: Contact, consented_email: str) -> Channel:
    """The channel a notice goes by; e-mail only with the subject's explicit consent to that address."""
    if contact.digital_mailbox:
        return Channel.DIGITAL_MAILBOX
    if consented_email:
        return Channel.EMAIL
    if contact.mobile:
        return Channel.SMS
    return Channel.POST


def choose_alert_channel(contact: Contact, consented_email: str) -> Channel:
    """The channel an identity-theft alert goes by: the fastest the subject has (a text message is read within
    minutes; a letter by post comes too late to stop credit being granted in their name)."""
    if contact.mobile:
        return Channel.SMS
    if contact.digital_mailbox:
        return Channel.DIGITAL_MAILBOX
    return choose_channel(contact, consented_email)


# The most copy letters one notice tells of: a burst of lookups beyond it starts another notice, so that no notice
# grows without bound.
MAX_LETTERS_PER_NOTICE = 20


def merge_key(recipient: str, reference: str) -> str | None:
    """Copy letters of repeated lookups by the same recipient for the same application share one notice; a lookup
    without a reference is its own."""
    return f"{recipient}|{reference}" if reference else None
