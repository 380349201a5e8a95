"""Sessions shared by every replica of the portal, kept in PostgreSQL: what a replica, a restart and someone who
reads the table can and cannot do with them. Each safety test names the breakage it was shown to fail with."""

from __future__ import annotations

import asyncio
import dataclasses
import re
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from gjeld_portal.bootstrap import HttpServer, build
from gjeld_portal.oidc import AccessToken, LoginStart
from gjeld_portal.sessions import Sessions, id_hash
from gjeld_shared import db
from gjeld_shared.identity_numbers import SubjectKeys, load_subject_keys
from gjeld_tools import devstack
from gjeld_tools.testing import CO_BORROWER, PERSON, MinGjeld, report_demo

COOKIE = "gjeld"  # development cookies: not Secure, so not __Host-


def csrf_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


@pytest.fixture
async def another_portal(min_gjeld: MinGjeld) -> AsyncIterator[Callable[..., Any]]:
    """Starts more replicas of the portal (each its own app, engine and pool) on the test's database."""
    started: list[HttpServer] = []

    async def start(port: int = 0) -> tuple[HttpServer, MinGjeld]:
        server = HttpServer(f"127.0.0.1:{port}")
        settings = min_gjeld.settings.model_copy(update={"portal_address": f"127.0.0.1:{server.port}"})
        await server.start(build(settings))
        started.append(server)
        return server, dataclasses.replace(min_gjeld, url=f"http://127.0.0.1:{server.port}", settings=settings)

    yield start
    for server in started:
        await server.stop()


async def test_two_replicas_serve_one_session_and_a_logout_on_one_ends_it_on_both(
    min_gjeld: MinGjeld, another_portal: Callable[..., Any]
) -> None:
    await report_demo(min_gjeld.registry)
    _, other = await another_portal()
    async with httpx.AsyncClient() as browser:
        await min_gjeld.log_in(browser, PERSON)
        cookie = browser.cookies[COOKIE]
    # Breaking it (each replica sealing with a key of its own, made at start, instead of the key file) sends the
    # person to log in again here: the other replica cannot open the session.
    async with httpx.AsyncClient(cookies={COOKIE: cookie}) as browser:
        page = await browser.get(f"{other.url}/gjeld", follow_redirects=False)
        assert page.status_code == 200 and "148422 *****" in page.text and "Fjordbanken" in page.text
        letters = await browser.get(f"{other.url}/brev", follow_redirects=False)
        assert letters.status_code == 200
        out = await browser.post(f"{other.url}/logg-ut", data={"csrf_token": csrf_token(page)})
        assert out.status_code == 303
    async with httpx.AsyncClient(cookies={COOKIE: cookie}) as replay:
        for url in (min_gjeld.url, other.url):
            again = await replay.get(f"{url}/gjeld", follow_redirects=False)
            assert again.status_code == 303 and again.headers["location"] == "/", url


async def test_a_restarted_portal_keeps_people_logged_in(
    min_gjeld: MinGjeld, another_portal: Callable[..., Any]
) -> None:
    server, portal = await another_portal()
    async with httpx.AsyncClient() as browser:
        await portal.log_in(browser, PERSON)
        cookie = browser.cookies[COOKIE]
    await server.stop()
    # The same address, a new process state: only the database remembers. Breaking it (a key made at start, as
    # above) sends the person to log in again.
    _, restarted = await another_portal(server.port)
    async with httpx.AsyncClient(cookies={COOKIE: cookie}) as browser:
        page = await browser.get(f"{restarted.url}/kredittsperre", follow_redirects=False)
        assert page.status_code == 200 and "148422 *****" in page.text


async def test_the_sessions_table_holds_no_identity_number_token_or_cookie_in_plain(min_gjeld: MinGjeld) -> None:
    registry = min_gjeld.registry
    async with httpx.AsyncClient() as person, httpx.AsyncClient() as stranger:
        await min_gjeld.log_in(person, PERSON)
        await person.get(f"{min_gjeld.url}/varsler")  # a token for notify too (a renewal)
        await person.get(f"{min_gjeld.url}/logg-inn", follow_redirects=False)  # a login start: verifier, nonce
        started = await stranger.get(f"{min_gjeld.url}/logg-inn", follow_redirects=False)
        assert started.status_code == 303
        cookie, strangers = person.cookies[COOKIE], stranger.cookies[COOKIE]
        # What the session holds, opened with the portal's key file (as the portal does).
        engine = db.create_engine(devstack.database_url(registry.socket, "portal", registry.database))
        try:
            keys = load_subject_keys(registry.folder.subject_keys("portal"))
            held = await Sessions(engine, keys, 900, 7200).get(cookie)
            login = await Sessions(engine, keys, 900, 7200).get(strangers)
        finally:
            await engine.dispose()
        assert held is not None and held.person == PERSON and len(held.tokens) >= 2 and held.refresh_token
        assert login is not None and login.login is not None
        secrets = [
            PERSON.encode(),
            cookie.encode(),
            strangers.encode(),
            held.refresh_token.encode(),
            held.csrf_token.encode(),
            *(token.value.encode() for token in held.tokens.values()),
            login.login.verifier.encode(),
            login.login.nonce.encode(),
            login.login.state.encode(),
        ]
        rows = await registry.fetch("SELECT * FROM portal.sessions")
        raw = b"\x00".join(v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row.values())
        # Breaking it (the cookie's id stored as it is, not hashed) fails the first; (the tokens stored unsealed)
        # the rest.
        assert {row["id_hash"] for row in rows} >= {id_hash(cookie), id_hash(strangers)}
        for secret in secrets:
            assert secret not in raw
        assert b"eyJ" not in raw  # no JWT (access or ID token), whoever issued it
        # A sealed blob is bound to its row: the person's identity and tokens, moved by someone with write access
        # into the stranger's row, open nothing there. Breaking it (sealing without the row's id hash as associated
        # data) logs the stranger in as the person here.
        await registry.fetch(
            "UPDATE portal.sessions AS s SET person_sealed = p.person_sealed, tokens_sealed = p.tokens_sealed,"
            " logged_in = true FROM portal.sessions AS p"
            f" WHERE s.id_hash = '\\x{id_hash(strangers).hex()}' AND p.id_hash = '\\x{id_hash(cookie).hex()}'"
        )
        moved = await stranger.get(f"{min_gjeld.url}/gjeld", follow_redirects=False)
        assert moved.status_code == 303 and moved.headers["location"] == "/"
        assert (await person.get(f"{min_gjeld.url}/gjeld", follow_redirects=False)).status_code == 200


@pytest.fixture
async def stores(postgres: str, database: str) -> AsyncIterator[Callable[..., Sessions]]:
    """Session stores on the test's database, as replicas have: each its own engine, all one key file."""
    keys, engines = SubjectKeys.generate(), []

    def store(**options: Any) -> Sessions:
        engine = db.create_engine(devstack.database_url(postgres, "portal", database))
        engines.append(engine)
        return Sessions(engine, keys, options.pop("idle", 900), options.pop("absolute", 7200), **options)

    yield store
    for engine in engines:
        await engine.dispose()


async def test_a_session_ends_when_idle_and_at_its_absolute_limit(stores: Callable[..., Sessions]) -> None:
    moment = [1_800_000_000.0]
    sessions = stores(clock=lambda: moment[0])
    session = await sessions.logged_in(await sessions.new(), PERSON, "r", {})
    for _ in range(8):  # used every 14 minutes: alive, until two hours have passed
        moment[0] += 14 * 60
        found = await sessions.get(session.id)
        assert found is not None and found.person == PERSON
    moment[0] += 14 * 60
    # 126 minutes: past the absolute limit. Breaking it (no absolute limit in `get`) keeps it alive here.
    assert await sessions.get(session.id) is None
    idle = await sessions.logged_in(await sessions.new(), PERSON, "r", {})
    moment[0] += 901
    assert await sessions.get(idle.id) is None  # Breaking it (no idle limit) keeps it alive here.
    anonymous = await sessions.new()
    moment[0] += 601
    assert await sessions.get(anonymous.id) is None  # a browser that never logged in: ten minutes
    assert await sessions.count() == 0  # an expired session is deleted when it is asked for


async def test_expired_sessions_are_pruned(stores: Callable[..., Sessions]) -> None:
    moment = [1_800_000_000.0]
    sessions = stores(clock=lambda: moment[0])
    for _ in range(3):
        await sessions.logged_in(await sessions.new(), PERSON, "r", {})
    moment[0] += 901
    live = await sessions.new()
    await sessions.prune()
    assert await sessions.count() == 1 and await sessions.get(live.id) is not None


async def test_a_flood_of_visits_logs_no_one_out(stores: Callable[..., Sessions]) -> None:
    sessions = stores(max_sessions=3, max_anonymous=5)
    person = await sessions.logged_in(await sessions.new(), PERSON, "r", {})
    for _ in range(20):
        await sessions.new()
    await sessions.prune()
    # Breaking it (the cap counting sessions of both kinds) ends the person's session here.
    found = await sessions.get(person.id)
    assert found is not None and found.person == PERSON and await sessions.count() == 5 + 1
    # Past the cap of people logged in, the least recently used of them goes.
    others = [await sessions.logged_in(await sessions.new(), CO_BORROWER, "r", {}) for _ in range(3)]
    await sessions.prune()
    assert await sessions.get(person.id) is None
    for other in others:
        assert await sessions.get(other.id) is not None


async def test_two_replicas_renewing_at_once_spend_the_refresh_token_once(stores: Callable[..., Sessions]) -> None:
    one, two = stores(), stores()
    stale = {"lookup": AccessToken("access-0", time.time() - 1)}
    session = await one.logged_in(await one.new(), PERSON, "refresh-1", stale)
    spent: list[str] = []

    async def refresh(refresh_token: str, audience: str) -> tuple[AccessToken, str]:
        """A provider that rotates refresh tokens: each may be spent once."""
        assert refresh_token not in spent, "a refresh token spent twice"
        spent.append(refresh_token)
        await asyncio.sleep(0.2)  # the provider takes a moment: the other request arrives meanwhile
        return AccessToken(f"access-{len(spent)}", time.time() + 300), f"refresh-{len(spent) + 1}"

    first, second = await one.get(session.id), await two.get(session.id)
    assert first is not None and second is not None
    # Breaking it (no FOR UPDATE: no row lock) spends refresh-1 twice here.
    renewed = await asyncio.gather(one.renew(first, "lookup", 30, refresh), two.renew(second, "lookup", 30, refresh))
    assert spent == ["refresh-1"]
    assert renewed[0] == renewed[1] == AccessToken("access-1", renewed[0].expires_at)
    later = await one.get(session.id)
    assert later is not None and later.refresh_token == "refresh-2" and later.tokens["lookup"].value == "access-1"


async def test_a_key_rotation_rolling_out_logs_no_one_out(postgres: str, database: str) -> None:
    """New replicas seal with the new key while old ones, started before it, still run: a session an old replica
    cannot open yet is left for the new ones, not ended. Breaking it (ending every session that does not open) logs
    the person out here."""
    old_keys = SubjectKeys.generate()
    new_keys = old_keys.rotated(encryption_key=True)
    engines = [db.create_engine(devstack.database_url(postgres, "portal", database)) for _ in range(2)]
    try:
        old, new = (
            Sessions(engine, keys, 900, 7200) for engine, keys in zip(engines, (old_keys, new_keys), strict=True)
        )
        before = await old.logged_in(await old.new(), PERSON, "r", {})
        assert (await new.get(before.id)).person == PERSON  # type: ignore[union-attr]  # the old key: still open
        after = await new.logged_in(await new.new(), PERSON, "r", {})
        assert await old.get(after.id) is None  # the old replica cannot open the new key's seal…
        found = await new.get(after.id)  # …and leaves it to those that can
        assert found is not None and found.person == PERSON
    finally:
        for engine in engines:
            await engine.dispose()


def test_a_renewal_must_end_before_the_database_cuts_off_those_waiting_for_it(min_gjeld: MinGjeld) -> None:
    with pytest.raises(ValueError, match="call_timeout_seconds"):
        type(min_gjeld.settings).model_validate(
            {
                **min_gjeld.settings.model_dump(),
                "call_timeout_seconds": 30.0,
                "database_statement_timeout_seconds": 10.0,
            }
        )


async def test_requests_of_one_browser_on_two_replicas_keep_each_others_changes(
    stores: Callable[..., Sessions],
) -> None:
    one, two = stores(), stores()
    started = await one.new()
    started.notice = "Samtykket er trukket."
    assert await one.save(started)
    # Two requests of the same browser, each on its replica, read the session at the same moment.
    showing, logging_in = await one.get(started.id), await two.get(started.id)
    assert showing is not None and logging_in is not None
    logging_in.login = LoginStart.new()
    assert await two.save(logging_in)
    showing.notice = ""  # the page shows the notice once, and its save keeps the login the other request started:
    assert await one.save(showing)  # breaking it (writing the whole state as read) loses the login here
    found = await one.get(started.id)
    assert found is not None and found.login == logging_in.login and found.notice == ""

    # A login answer is taken once, whichever replica takes it first: the second finds it taken.
    first, second = await one.get(started.id), await two.get(started.id)
    assert first is not None and second is not None
    first.login = second.login = None
    assert await one.save(first)
    assert not await two.save(second)
