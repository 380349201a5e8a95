"""How a notice reaches a subject, without I/O (DOM-13).

The channel follows from the subject's contact details (from the population
register) and their own preferences: a digital mailbox where they have one;
otherwise e-mail, but only to an address they explicitly consented to; otherwise
a text message to their mobile number; otherwise a letter by post.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Channel(enum.Enum):
    DIGITAL_MAILBOX = "digital_mailbox"
    EMAIL = "email"
    SMS = "sms"
    POST = "post"


@dataclass(frozen=True)
class Contact:
    """A person's contact details as the population and contact registers hold them."""

    name: str
    postal_address: tuple[str, ...]
    digital_mailbox: bool = False
    mobile: str = ""


@dataclass(frozen=True)
class Message:
    """One notice, rendered: a title, the digital message text, and the letter as a PDF."""

    title: str
    text: str
    pdf: bytes


def choose_channel(contact: Contact, consented_email: str) -> Channel:
    """The channel a notice goes by; e-mail only with the subject's explicit consent to that address."""
    if contact.digital_mailbox:
        return Channel.DIGITAL_MAILBOX
    if consented_email:
        return Channel.EMAIL
    if contact.mobile:
        return Channel.SMS
    return Channel.POST


def merge_key(recipient: str, reference: str) -> str | None:
    """Copy letters of repeated lookups by the same recipient for the same application share one notice; a lookup
    without a reference is its own."""
    return f"{recipient}|{reference}" if reference else None
