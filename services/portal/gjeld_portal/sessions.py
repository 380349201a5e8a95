"""The browser's session, kept on the server, in the portal's own schema: every replica serves every session, and a
restart or a rollout logs no one out. The cookie holds only a random id (256 bits); the table only its SHA-256.

A session ends after `idle` seconds without a request and `absolute` seconds after it began, whatever happens, and
at once on logout; a login gets a new id (no session fixation). The person's identity number and tokens stay here,
never in the cookie, a URL or a log line, and here only sealed (see `adapters`). Every form carries the session's
CSRF token (synchronizer token pattern).

Two requests of one person may arrive at two replicas at once: renewing the person's tokens takes the row's lock
(`SELECT … FOR UPDATE`) and reads the tokens again under it, so that a refresh token is spent once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gjeld_shared.identity_numbers import SubjectKeys, UnknownKey
from sqlalchemy import and_, delete, func, insert, not_, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .adapters import sessions as table
from .oidc import AccessToken, LoginFailed, LoginStart

log = logging.getLogger(__name__)

LANGUAGES = ("nb", "en")
DEFAULT_LANGUAGE = "nb"
# However many browsers come by, the portal keeps at most this many sessions of people logged in, and of browsers
# that are not (the least recently used of their kind go first: a flood of anonymous visits never logs a person
# out). The caps are kept by the prune each replica runs at most every PRUNE_EVERY_SECONDS, as it creates sessions:
# between two prunes a flood may pass a cap by what arrives in those seconds. A browser not logged in keeps its
# session for at most ANONYMOUS_IDLE_SECONDS without a request.
MAX_SESSIONS = 100_000
MAX_ANONYMOUS = 10_000
ANONYMOUS_IDLE_SECONDS = 600.0
PRUNE_EVERY_SECONDS = 10.0

Refresh = Callable[[str, str], Awaitable[tuple[AccessToken, str]]]


class SessionEnded(Exception):
    """The session ended (logged out elsewhere, expired, or the provider refused to renew its tokens)."""


def id_hash(session_id: str) -> bytes:
    """What the table keeps of a session's id: its SHA-256 (the id is 256 random bits: no salt needed)."""
    return hashlib.sha256(session_id.encode()).digest()


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


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
    # The state as this request read (or last wrote) it: what `save` compares with, to write only what changed.
    stored: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def key(self) -> bytes:
        return id_hash(self.id)

    @property
    def masked_person(self) -> str:
        """The identity number as the pages show it: the date of birth, the rest hidden."""
        return f"{self.person[:6]} *****" if self.person else ""

    def __repr__(self) -> str:  # nothing of the person, the id or the tokens in a log line or a traceback
        return f"Session(logged_in={self.person is not None})"


class Sessions:
    """The sessions of every replica, in PostgreSQL. `clock` gives seconds since the epoch (every replica's clock,
    kept by NTP, measures the same sessions)."""

    def __init__(
        self,
        engine: AsyncEngine,
        keys: SubjectKeys,
        idle: float,
        absolute: float,
        clock: Callable[[], float] = time.time,
        *,
        max_sessions: int = MAX_SESSIONS,
        max_anonymous: int = MAX_ANONYMOUS,
    ) -> None:
        self._engine, self._keys = engine, keys
        self._idle, self._absolute, self._clock = idle, absolute, clock
        self._max_sessions, self._max_anonymous = max_sessions, max_anonymous
        self._pruned = clock()

    # --- sealing ----------------------------------------------------------------------------------------------

    def _seal(self, key: bytes, column: str, data: bytes) -> bytes:
        # Bound to the row (the 32-byte id hash) and the column: a blob moved elsewhere does not open.
        return self._keys.seal(data, key + column.encode())

    def _unseal(self, key: bytes, column: str, blob: bytes) -> bytes:
        return self._keys.unseal(blob, key + column.encode())

    @staticmethod
    def _fields(session: Session) -> dict[str, Any]:
        login = session.login
        return {
            "csrf_token": session.csrf_token,
            "language": session.language,
            "notice": session.notice,
            "login": [login.state, login.nonce, login.verifier] if login else None,
        }

    @staticmethod
    def _take(session: Session, state: dict[str, Any]) -> None:
        session.csrf_token, session.language, session.notice = state["csrf_token"], state["language"], state["notice"]
        session.login = LoginStart(*state["login"]) if state["login"] else None
        session.stored = dict(state)

    def _state(self, session: Session, state: dict[str, Any] | None = None) -> bytes:
        state = self._fields(session) if state is None else state
        session.stored = dict(state)
        return self._seal(session.key, "state_sealed", json.dumps(state).encode())

    def _tokens(self, session: Session) -> bytes:
        tokens = {
            "refresh_token": session.refresh_token,
            "access": {audience: [t.value, t.expires_at] for audience, t in session.tokens.items()},
        }
        return self._seal(session.key, "tokens_sealed", json.dumps(tokens).encode())

    def _read_tokens(self, session: Session, blob: bytes) -> None:
        tokens = json.loads(self._unseal(session.key, "tokens_sealed", blob))
        session.refresh_token = tokens["refresh_token"]
        session.tokens = {audience: AccessToken(v, float(e)) for audience, (v, e) in tokens["access"].items()}

    def _session(self, session_id: str, row: Any) -> Session:
        session = Session(session_id, row.began.timestamp(), row.seen.timestamp())
        self._take(session, json.loads(self._unseal(session.key, "state_sealed", row.state_sealed)))
        if row.person_sealed is not None:
            session.person = self._unseal(session.key, "person_sealed", row.person_sealed).decode("ascii")
        if row.tokens_sealed is not None:
            self._read_tokens(session, row.tokens_sealed)
        return session

    # --- the sessions -----------------------------------------------------------------------------------------

    def _live(self, moment: float) -> Any:
        anonymous_idle = min(self._idle, ANONYMOUS_IDLE_SECONDS)
        return and_(
            table.c.began > _moment(moment - self._absolute),
            or_(
                and_(table.c.logged_in, table.c.seen > _moment(moment - self._idle)),
                and_(not_(table.c.logged_in), table.c.seen > _moment(moment - anonymous_idle)),
            ),
        )

    async def get(self, session_id: str | None) -> Session | None:
        """The live session with this id (and it counts as used now), or None; an expired one is deleted."""
        if not session_id:
            return None
        moment, key = self._clock(), id_hash(session_id)
        used = (
            update(table)
            .where(table.c.id_hash == key, self._live(moment))
            .values(seen=_moment(moment))
            .returning(*table.c)
        )
        async with self._engine.begin() as connection:
            row = (await connection.execute(used)).first()
            if row is None:
                await connection.execute(delete(table).where(table.c.id_hash == key))
                return None
            try:
                return self._session(session_id, row)
            except UnknownKey:
                # Sealed with a key this replica does not hold yet (a rotation rolling out: the new replicas seal
                # with the new key): not here, but left for the replicas that can open it.
                log.warning("a session's sealed data is under a key this replica does not hold")
                return None
            except Exception as error:  # noqa: BLE001 - a row that does not open is no session, whatever the cause
                # (a key that left the key file, a blob moved from another row). The error's type only: no data.
                log.warning("a session's sealed data did not open (%s): ended", type(error).__name__)
                await connection.execute(delete(table).where(table.c.id_hash == key))
                return None

    async def new(self, language: str = DEFAULT_LANGUAGE) -> Session:
        """A session for a browser not logged in."""
        moment = self._clock()
        await self._prune_now_and_then(moment)
        session = Session(secrets.token_urlsafe(32), moment, moment, language=language)
        async with self._engine.begin() as connection:
            await self._insert(connection, session)
        return session

    async def logged_in(
        self, previous: Session, person: str, refresh_token: str, tokens: dict[str, AccessToken]
    ) -> Session:
        """A new session for the person just logged in (new id, new CSRF token, clocks from now); the old one ends."""
        moment = self._clock()
        await self._prune_now_and_then(moment)
        session = Session(
            secrets.token_urlsafe(32),
            moment,
            moment,
            language=previous.language,
            person=person,
            refresh_token=refresh_token,
            tokens=dict(tokens),
        )
        async with self._engine.begin() as connection:
            await connection.execute(delete(table).where(table.c.id_hash == previous.key))
            await self._insert(connection, session)
        return session

    async def _insert(self, connection: AsyncConnection, session: Session) -> None:
        person = session.person
        await connection.execute(
            insert(table).values(
                id_hash=session.key,
                began=_moment(session.began),
                seen=_moment(session.seen),
                logged_in=person is not None,
                person_sealed=self._seal(session.key, "person_sealed", person.encode("ascii")) if person else None,
                tokens_sealed=self._tokens(session) if person else None,
                state_sealed=self._state(session),
            )
        )

    async def save(self, session: Session) -> bool:
        """Keep what this request changed of the session (language, notice, login start; never its tokens: `renew`),
        and only that: another request of the same browser, on any replica, may have changed other fields since this
        one read them, and those stay as it left them. False, and nothing written, if another request changed one of
        the same fields first (its change stands: a login answer is taken once, whoever takes it)."""
        mine = self._fields(session)
        changed = {name: value for name, value in mine.items() if value != session.stored.get(name, value)}
        if not changed:
            return True
        async with self._engine.begin() as connection:
            locked = select(table.c.state_sealed).where(table.c.id_hash == session.key).with_for_update()
            blob = (await connection.execute(locked)).scalar_one_or_none()
            if blob is None:
                return False
            current = json.loads(self._unseal(session.key, "state_sealed", blob))
            if any(current[name] != session.stored[name] for name in changed):
                self._take(session, current)
                return False
            merged = {**current, **changed}
            await connection.execute(
                update(table).where(table.c.id_hash == session.key).values(state_sealed=self._state(session, merged))
            )
        self._take(session, merged)
        return True

    async def renew(self, session: Session, audience: str, margin: float, refresh: Refresh) -> AccessToken:
        """The session's access token for `audience`, renewed with `refresh` if it has less than `margin` seconds
        left: under the row's lock, after reading the tokens again (another replica may have just renewed them, and
        spent the refresh token this one holds). Raises SessionEnded if the session is gone or the provider refuses,
        the session then ended."""
        refused: LoginFailed | None = None
        async with self._engine.begin() as connection:
            locked = select(table.c.tokens_sealed).where(table.c.id_hash == session.key).with_for_update()
            blob = (await connection.execute(locked)).scalar_one_or_none()
            if blob is None:
                raise SessionEnded
            self._read_tokens(session, blob)
            held = session.tokens.get(audience)
            if held is not None and held.expires_at - self._clock() >= margin:
                return held
            try:
                held, session.refresh_token = await refresh(session.refresh_token, audience)
            except LoginFailed as error:
                refused = error
                await connection.execute(delete(table).where(table.c.id_hash == session.key))
            else:
                session.tokens[audience] = held
                await connection.execute(
                    update(table).where(table.c.id_hash == session.key).values(tokens_sealed=self._tokens(session))
                )
        if refused is not None or held is None:
            raise SessionEnded from refused
        return held

    async def end(self, session_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(delete(table).where(table.c.id_hash == id_hash(session_id)))

    async def count(self) -> int:
        async with self._engine.connect() as connection:
            return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())

    # --- expiry and the caps ----------------------------------------------------------------------------------

    async def _prune_now_and_then(self, moment: float) -> None:
        if moment - self._pruned >= PRUNE_EVERY_SECONDS:
            self._pruned = moment
            await self.prune()

    async def prune(self) -> None:
        """Delete the sessions that have expired, and the least recently used of each kind beyond its cap. One
        replica at a time (the others skip: one prune is enough); cheap on the indexes by kind and use, and start."""
        moment = self._clock()
        async with self._engine.begin() as connection:
            alone = await connection.execute(text("SELECT pg_try_advisory_xact_lock(hashtext('gjeld:portal:prune'))"))
            if not alone.scalar_one():
                return
            await connection.execute(delete(table).where(not_(self._live(moment))))
            for logged_in, cap in ((True, self._max_sessions), (False, self._max_anonymous)):
                beyond = (
                    select(table.c.id_hash)
                    .where(table.c.logged_in == logged_in)
                    .order_by(table.c.seen.desc())
                    .offset(cap)
                )
                await connection.execute(delete(table).where(table.c.id_hash.in_(beyond.scalar_subquery())))
