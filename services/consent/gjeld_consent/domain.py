"""Consent rules, without I/O (DOM-10, DOM-12).

A consent lets one institution look up one subject's debt for one scope, for a
limited time and optionally a limited number of uses. By default it is a single
use within 10 minutes. Processing (credit assessment) lasts at most 28 days,
presentation at most 365. The subject gives it to the registry directly, or the
institution registers one it collected (the "integrated" flow) under its own id.
A withdrawn (by the subject), ended (by the institution), expired or used-up
consent is refused. Every change is an event in the institution's feed.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from gjeld_shared.translations import NORWAY


class Scope(enum.Enum):
    PROCESSING = "processing"
    PRESENTATION = "presentation"


class State(enum.Enum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    USED_UP = "used_up"
    ENDED = "ended"


class Origin(enum.Enum):
    SUBJECT = "subject"
    INSTITUTION = "institution"


class EventType(enum.Enum):
    CREATED = "created"
    USED = "used"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"
    ENDED = "ended"
    USE_RELEASED = "use_released"  # the lookup failed before disclosing: the use counts for nothing


MAX_VALIDITY = {Scope.PROCESSING: timedelta(days=28), Scope.PRESENTATION: timedelta(days=365)}
DEFAULT_VALIDITY = timedelta(minutes=10)
DEFAULT_USES = 1
# How long after a use the same lookup, retried, may still rely on it when the consent has since been spent or has
# expired (a withdrawn or ended consent allows no retry at all).
REPEAT_WINDOW = timedelta(minutes=10)
# How many of a consent's latest uses come with it; a consent used for years may have thousands.
RECENT_USES = 10


@dataclass(frozen=True)
class Use:
    use_time: datetime
    disclosure_id: str
    application_reference: str = ""


@dataclass
class Consent:
    id: uuid.UUID
    institution: str
    scope: Scope
    create_time: datetime
    expire_time: datetime
    max_uses: int | None
    # The latest uses, at most RECENT_USES, oldest first; every use is counted, and listed page by page elsewhere.
    uses: list[Use] = field(default_factory=list)
    use_count: int = 0
    withdraw_time: datetime | None = None
    origin: Origin = Origin.SUBJECT
    institution_consent_id: str | None = None
    end_time: datetime | None = None

    def state(self, now: datetime) -> State:
        if self.withdraw_time is not None:
            return State.WITHDRAWN
        if self.end_time is not None:
            return State.ENDED
        if self.max_uses is not None and self.use_count >= self.max_uses:
            return State.USED_UP
        if now >= self.expire_time:
            return State.EXPIRED
        return State.ACTIVE

    def used(self, use: Use) -> None:
        """Count a new use, keeping the latest few."""
        self.use_count += 1
        self.uses = [*self.uses, use][-RECENT_USES:]


@dataclass(frozen=True)
class Terms:
    """What a new consent allows: until when, and how many uses."""

    expire_time: datetime
    max_uses: int | None


def terms(
    scope: Scope, validity: timedelta | None, max_uses: int | None, now: datetime
) -> tuple[Terms | None, list[tuple[str, str]]]:
    """The terms of a new consent, or the violations that make it impossible."""
    problems: list[tuple[str, str]] = []
    if validity is not None and not timedelta(0) < validity <= MAX_VALIDITY[scope]:
        problems.append(("validity", f"must be positive and at most {MAX_VALIDITY[scope].days} days for this scope"))
    if max_uses is not None and max_uses < 1:
        problems.append(("max_uses", "must be at least 1"))
    if problems:
        return None, problems
    if validity is None:
        return Terms(now + DEFAULT_VALIDITY, max_uses if max_uses is not None else DEFAULT_USES), []
    return Terms(now + validity, max_uses), []


# An identity-theft flag stands 90 days unless the subject says otherwise (Ireland's register's period), at most
# through the same day a year ahead; the subject may place it again to move its end.
FLAG_PERIOD = timedelta(days=90)


@dataclass(frozen=True)
class IdentityTheftFlag:
    """A subject's warning that someone may be using their identity: until `end_time` every lender's lookup is told
    to verify the applicant's identity with extra care, and the subject is alerted of each lookup at once."""

    create_time: datetime
    end_time: datetime


def flag_end(asked: datetime | None, now: datetime) -> tuple[datetime | None, list[tuple[str, str]]]:
    """When a flag placed now ends: as asked (later than now, at most latest_flag_end(now)), or FLAG_PERIOD ahead."""
    if asked is None:
        return now + FLAG_PERIOD, []
    if not now < asked <= latest_flag_end(now):
        return None, [("end_time", "must be later than now, and at most the end of the same day a year ahead")]
    return asked, []


def latest_flag_end(now: datetime) -> datetime:
    """The latest end of a flag placed now: the midnight after the same day a year ahead in Norway (a day chosen in
    Min gjeld or the CLI lasts through that day; 28 February a year after a 29 February)."""
    today = now.astimezone(NORWAY).date()
    a_year_on = date(today.year + 1, today.month, min(today.day, 28) if today.month == 2 else today.day)
    return datetime.combine(a_year_on + timedelta(days=1), time(0), tzinfo=NORWAY)


@dataclass(frozen=True)
class Standing:
    """What a lookup of the subject must respect beside their consent: a credit block (DOM-12: nothing may be
    disclosed), an identity-theft flag (the lender warned, the subject alerted)."""

    blocked_since: datetime | None = None
    flag: IdentityTheftFlag | None = None


REFUSAL_REASONS = {
    State.WITHDRAWN: "CONSENT_WITHDRAWN",
    State.EXPIRED: "CONSENT_EXPIRED",
    State.USED_UP: "CONSENT_USED_UP",
    State.ENDED: "CONSENT_ENDED",
}


def choose(consents: list[Consent], now: datetime) -> tuple[Consent | None, str]:
    """The consent a lookup may use (the newest active one), or the reason for refusing it."""
    for consent in consents:
        if consent.state(now) is State.ACTIVE:
            return consent, ""
    if not consents:
        return None, "CONSENT_NOT_FOUND"
    return None, REFUSAL_REASONS[consents[0].state(now)]


@dataclass(frozen=True)
class Event:
    """One entry of an institution's consent feed: positions run 1, 2, 3 … without gaps."""

    position: int
    type: EventType
    event_time: datetime
    consent_id: uuid.UUID
    disclosure_id: str = ""


# Far longer than the Norwegian registry's 7 days, so that an integration down for a month still catches up.
DEFAULT_FEED_RETENTION = timedelta(days=400)
