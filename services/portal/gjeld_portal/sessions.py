"""The browser's session, kept on the server: the cookie holds only a random id (256 bits).

A session ends after `idle` seconds without a request and `absolute` seconds after it began, whatever happens, and
at once on logout; a login gets a new id (no session fixation). The person's identity number and tokens stay here,
never in the cookie, a URL or a log line. Every form carries the session's CSRF token (synchronizer token pattern).

Sessions live in the portal's memory: a restart logs everyone out, and several replicas need sticky sessions or a
shared store (see the README).
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .oidc import AccessToken, LoginStart

LANGUAGES = ("nb", "en")
DEFAULT_LANGUAGE = "nb"
# However many browsers come by, the portal keeps at most this many sessions of people logged in, and of browsers
# that are not (the oldest of their kind go first: a flood of anonymous visits never logs a person out). A browser
# not logged in keeps its session for at most ANONYMOUS_IDLE_SECONDS without a request.
MAX_SESSIONS = 100_000
MAX_ANONYMOUS = 10_000
ANONYMOUS_IDLE_SECONDS = 600.0
PRUNE_EVERY_SECONDS = 10.0


@dataclass
class Session:
    id: str
    began: float
    seen: float
    csrf_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    language: str = DEFAULT_LANGUAGE
    login: LoginStart | None = None
    # Set once logged in: the person (never shown unmasked, never logged), their refresh token, and one access token
    # per service audience.
    person: str | None = None
    refresh_token: str = ""
    tokens: dict[str, AccessToken] = field(default_factory=dict)
    # One message for the next page shown (what the last action did).
    notice: str = ""
    renewing: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def masked_person(self) -> str:
        """The identity number as the pages show it: the date of birth, the rest hidden."""
        return f"{self.person[:6]} *****" if self.person else ""


class Sessions:
    def __init__(self, idle: float, absolute: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._idle, self._absolute, self._clock = idle, absolute, clock
        self._sessions: dict[str, Session] = {}
        self._anonymous: dict[str, None] = {}  # the ids of sessions without a person, oldest first
        self._pruned = clock()

    def _expired(self, session: Session, moment: float) -> bool:
        idle = self._idle if session.person else min(self._idle, ANONYMOUS_IDLE_SECONDS)
        return moment - session.seen > idle or moment - session.began > self._absolute

    def _prune(self, moment: float) -> None:
        if moment - self._pruned < PRUNE_EVERY_SECONDS:
            return
        self._pruned = moment
        for stale in [key for key, s in self._sessions.items() if self._expired(s, moment)]:
            self.end(stale)

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (and it counts as used now), or None."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        moment = self._clock()
        if self._expired(session, moment):
            del self._sessions[session_id]
            return None
        session.seen = moment
        return session

    def new(self, language: str = DEFAULT_LANGUAGE) -> Session:
        """A session for a browser not logged in."""
        moment = self._clock()
        self._prune(moment)
        while len(self._anonymous) >= MAX_ANONYMOUS:
            self.end(next(iter(self._anonymous)))
        session = Session(secrets.token_urlsafe(32), moment, moment, language=language)
        self._sessions[session.id] = session
        self._anonymous[session.id] = None
        return session

    def logged_in(self, previous: Session, person: str) -> Session:
        """A new session for the person just logged in (new id, new CSRF token, clocks from now); the old one ends."""
        self.end(previous.id)
        while len(self._sessions) - len(self._anonymous) >= MAX_SESSIONS:
            self.end(next(key for key, s in self._sessions.items() if s.person))
        moment = self._clock()
        session = Session(secrets.token_urlsafe(32), moment, moment, language=previous.language, person=person)
        self._sessions[session.id] = session
        return session

    def end(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        self._anonymous.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)
