"""Min gjeld over real HTTP, logged in through the development ID-porten, in front of the four real services.

The security properties a bank's reviewer asks for, each shown to fail when broken (see each test's comment)."""

from __future__ import annotations

import csv
import io
import logging
import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from gjeld.consent.v1 import consent_pb2, consent_service_pb2
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld_shared.counties import COUNTIES
from gjeld_shared.timestamps import from_proto
from gjeld_shared.translations import through
from gjeld_tools import synthetic
from gjeld_tools.testing import (
    BANK,
    CO_BORROWER,
    PERSON,
    MinGjeld,
    debt_statistics,
    deliver_snapshot,
    eventually,
    grant,
    look_up,
    report_demo,
)

TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def csrf_token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


async def consent_state(min_gjeld: MinGjeld, consent_id: str) -> int:
    reply = await min_gjeld.registry.consent().ListConsents(
        consent_service_pb2.ListConsentsRequest(), metadata=min_gjeld.registry.as_subject(PERSON)
    )
    return next(c.state for c in reply.consents if c.id == consent_id)


async def test_a_person_sees_their_debt_with_creditor_names_and_never_their_full_number(
    min_gjeld: MinGjeld, caplog: pytest.LogCaptureFixture
) -> None:
    await report_demo(min_gjeld.registry)
    visited: list[str] = []

    async def remember(request: httpx.Request) -> None:
        visited.append(str(request.url))

    caplog.set_level(logging.INFO)
    async with httpx.AsyncClient(event_hooks={"request": [remember]}) as browser:
        page = await min_gjeld.log_in(browser, PERSON)
        assert page.status_code == 200 and str(page.url) == f"{min_gjeld.url}/gjeld"
        assert "Fjordbanken" in page.text and "Gjelden din" in page.text
        assert "148422 *****" in page.text  # masked: the date of birth only
        pages = [page] + [await browser.get(f"{min_gjeld.url}{path}") for path in PAGES]
    for shown in pages:
        assert shown.status_code == 200, shown.url
        assert PERSON not in shown.text, shown.url
        assert PERSON not in TITLE.search(shown.text).group(1)  # type: ignore[union-attr]
    assert not [url for url in visited if PERSON in url]
    assert PERSON not in caplog.text
    cookie = page.history[-1].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"


PAGES = ("/samtykker", "/utleveringer", "/brev", "/kredittsperre", "/id-tyveri", "/varsler", "/retting")


async def test_a_form_without_the_sessions_csrf_token_changes_nothing(min_gjeld: MinGjeld) -> None:
    consent = await grant(min_gjeld.registry)
    withdraw = f"{min_gjeld.url}/samtykker/{consent.id}/trekk-tilbake"
    async with httpx.AsyncClient() as browser:
        await min_gjeld.log_in(browser, PERSON)
        token = csrf_token(await browser.get(f"{min_gjeld.url}/samtykker"))
        # Every form, sent without the session's token, with another, or from another site: refused, nothing done.
        # Breaking it (checked_form not comparing the token) lets these through and withdraws the consent.
        forms = {
            withdraw: {},
            f"{min_gjeld.url}/kredittsperre": {"block": "on"},
            f"{min_gjeld.url}/id-tyveri": {"flag": "on", "end_date": "2099-01-01"},
            f"{min_gjeld.url}/varsler": {"email_consent": "yes", "email": "kari@example.no", "language": "en"},
            f"{min_gjeld.url}/sprak": {"language": "en"},
            f"{min_gjeld.url}/retting": {"debt": "999888777/CARD-7", "reason": "Feil."},
            f"{min_gjeld.url}/logg-ut": {},
        }
        for url, fields in forms.items():
            assert (await browser.post(url, data=fields)).status_code == 403, url
            assert (await browser.post(url, data={**fields, "csrf_token": "forged"})).status_code == 403, url
            for elsewhere in ({"origin": "https://evil.example"}, {"sec-fetch-site": "cross-site"}):
                sent = await browser.post(url, data={**fields, "csrf_token": token}, headers=elsewhere)
                assert sent.status_code == 403, (url, elsewhere)
        assert await consent_state(min_gjeld, consent.id) == consent_pb2.CONSENT_STATE_ACTIVE
        still = await browser.get(f"{min_gjeld.url}/varsler")
        assert still.status_code == 200 and "kari@example.no" not in still.text and "Varsler" in still.text
        blocked = await browser.post(f"{min_gjeld.url}/kredittsperre", data={"csrf_token": token, "block": "maybe"})
        assert blocked.status_code == 400  # a fraud control is switched only as asked, never by a malformed form
        done = await browser.post(withdraw, data={"csrf_token": token}, follow_redirects=True)
        assert done.status_code == 200 and "trukket tilbake" in done.text
    assert await consent_state(min_gjeld, consent.id) == consent_pb2.CONSENT_STATE_WITHDRAWN
    block = await min_gjeld.registry.consent().GetCreditBlock(
        consent_service_pb2.GetCreditBlockRequest(), metadata=min_gjeld.registry.as_subject(PERSON)
    )
    assert not block.credit_block.blocked
    assert not await correction_events(min_gjeld)  # no forged form asked for a correction


async def correction_events(min_gjeld: MinGjeld) -> list[ingest_pb2.CorrectionEvent]:
    reply = await min_gjeld.registry.ingest().ListCorrectionEvents(
        ingest_service_pb2.ListCorrectionEventsRequest(), metadata=min_gjeld.registry.as_institution(BANK)
    )
    return list(reply.events)


async def test_a_person_asks_for_a_correction_and_sees_the_debt_disputed(min_gjeld: MinGjeld) -> None:
    await report_demo(min_gjeld.registry)
    async with httpx.AsyncClient() as browser:
        await min_gjeld.log_in(browser, PERSON)
        form = await browser.get(f"{min_gjeld.url}/retting")
        assert 'value="999888777/CARD-7"' in form.text
        ask = {"csrf_token": csrf_token(form), "debt": "999888777/CARD-7", "reason": "Kortet er sagt opp.\nSaldo 0."}
        sent = await browser.post(f"{min_gjeld.url}/retting", data=ask, follow_redirects=True)
        assert sent.status_code == 200 and "Begjæringen er sendt til kreditoren" in sent.text
        assert "Venter på svar fra kreditoren" in sent.text and "Kortet er sagt opp." in sent.text
        # The bank has it, with the person's words; the debt page marks the debt.
        [event] = await correction_events(min_gjeld)
        assert event.request.account_id == "CARD-7" and event.request.reason == "Kortet er sagt opp.\nSaldo 0."
        debts = await browser.get(f"{min_gjeld.url}/gjeld")
        assert debts.text.count("Omstridt:") == 1
        # Asked again while open, or about a debt that is not theirs: the form says so, nothing is sent.
        again = await browser.post(f"{min_gjeld.url}/retting", data=ask)
        assert again.status_code == 422 and "ikke besvart ennå" in again.text
        foreign = await browser.post(f"{min_gjeld.url}/retting", data={**ask, "debt": "999888777/NOT-MINE"})
        assert foreign.status_code == 422 and "Velg en av gjeldspostene" in foreign.text
        assert len(await correction_events(min_gjeld)) == 1


async def test_another_persons_letter_is_not_found(min_gjeld: MinGjeld) -> None:
    await report_demo(min_gjeld.registry)
    await grant(min_gjeld.registry, subject=CO_BORROWER)
    await grant(min_gjeld.registry, subject=PERSON)
    await look_up(min_gjeld.registry, subject=CO_BORROWER)
    await look_up(min_gjeld.registry, subject=PERSON)
    async with httpx.AsyncClient() as person, httpx.AsyncClient() as co_borrower:
        await min_gjeld.log_in(person, PERSON)
        await min_gjeld.log_in(co_borrower, CO_BORROWER)

        async def letter_of(browser: httpx.AsyncClient) -> str | None:
            found = re.search(r'href="/brev/([0-9a-f-]{36})"', (await browser.get(f"{min_gjeld.url}/brev")).text)
            return found.group(1) if found else None

        own, others = await eventually(lambda: letter_of(person)), await eventually(lambda: letter_of(co_borrower))
        mine = await person.get(f"{min_gjeld.url}/brev/{own}")
        assert mine.status_code == 200 and mine.headers["content-type"] == "application/pdf"
        assert mine.content.startswith(b"%PDF-")
        # Breaking it (notify finding a notice by its id alone) serves the co-borrower's letter here.
        theirs = await person.get(f"{min_gjeld.url}/brev/{others}")
        assert theirs.status_code == 404 and not theirs.content.startswith(b"%PDF")
        assert (await person.get(f"{min_gjeld.url}/brev/not-a-uuid")).status_code == 404


async def test_a_session_after_logout_is_refused(min_gjeld: MinGjeld) -> None:
    async with httpx.AsyncClient() as browser:
        await min_gjeld.log_in(browser, PERSON)
        page = await browser.get(f"{min_gjeld.url}/kredittsperre")
        token, cookies = csrf_token(page), dict(browser.cookies)
        out = await browser.post(f"{min_gjeld.url}/logg-ut", data={"csrf_token": token}, follow_redirects=True)
        assert str(out.url) == f"{min_gjeld.url}/utlogget" and "logget ut" in out.text
        # On to ID-porten's end-session naming the client, never the ID token (its pid would stay in the history).
        to_provider = out.history[0].headers["location"]
        assert "/endsession?" in to_provider and "client_id=" in to_provider
        assert "id_token_hint" not in to_provider and "eyJ" not in to_provider
    # The old cookie, replayed (as someone who copied it would): no page, and no form does anything.
    # Breaking it (log_out not ending the server's session) shows the pages and places the block here.
    async with httpx.AsyncClient(cookies=cookies) as replay:
        again = await replay.get(f"{min_gjeld.url}/kredittsperre", follow_redirects=False)
        assert again.status_code == 303 and again.headers["location"] == "/"
        placed = await replay.post(f"{min_gjeld.url}/kredittsperre", data={"csrf_token": token, "block": "on"})
        assert placed.status_code == 403
    blocked = await min_gjeld.registry.consent().GetCreditBlock(
        consent_service_pb2.GetCreditBlockRequest(), metadata=min_gjeld.registry.as_subject(PERSON)
    )
    assert not blocked.credit_block.blocked


@pytest.mark.portal_settings(session_idle_seconds=0.5)
async def test_an_idle_session_is_sent_to_log_in_again(min_gjeld: MinGjeld) -> None:
    import asyncio

    async with httpx.AsyncClient() as browser:
        await min_gjeld.log_in(browser, PERSON)
        assert (await browser.get(f"{min_gjeld.url}/brev", follow_redirects=False)).status_code == 200
        await asyncio.sleep(0.7)
        assert (await browser.get(f"{min_gjeld.url}/brev", follow_redirects=False)).status_code == 303


async def provider_answer(min_gjeld: MinGjeld, browser: httpx.AsyncClient, person: str) -> dict[str, str]:
    """Start a login in `browser` and let `person` log in at the provider, stopping before the way back: the
    code and state the provider sends the browser back with."""
    from urllib.parse import parse_qs, urlsplit

    start = await browser.get(f"{min_gjeld.url}/logg-inn", follow_redirects=False)
    asked = {k: v if k == "resource" else v[0] for k, v in parse_qs(urlsplit(start.headers["location"]).query).items()}
    back = await browser.post(f"{min_gjeld.idporten_url}/authorize", data={**asked, "pid": person})
    return {key: values[0] for key, values in parse_qs(urlsplit(back.headers["location"]).query).items()}


async def test_a_login_answer_is_taken_only_by_the_browser_that_asked(min_gjeld: MinGjeld) -> None:
    async with httpx.AsyncClient() as victim, httpx.AsyncClient() as attacker:
        # The attacker logs in as themselves and gets the victim's browser to come back with the attacker's answer
        # (login CSRF: the victim would then act as the attacker). The victim has started a login of their own.
        stolen = await provider_answer(min_gjeld, attacker, CO_BORROWER)
        own = await provider_answer(min_gjeld, victim, PERSON)
        # Three checks stop it: the state (bound to the victim's session), PKCE (the code to the attacker's
        # verifier) and the ID token's nonce. Breaking all three (tried once) logs the victim in as the attacker here.
        forged = await victim.get(f"{min_gjeld.url}/innlogget", params=stolen)
        assert forged.status_code == 400
        # The attacker's code with the victim's state: the code is bound to the attacker's PKCE verifier.
        forged = await victim.get(f"{min_gjeld.url}/innlogget", params={**stolen, "state": own["state"]})
        assert forged.status_code == 400
        assert (await victim.get(f"{min_gjeld.url}/gjeld", follow_redirects=False)).status_code == 303
        # An answer naming another issuer (RFC 9207, against mix-up) is refused too.
        mixed = await provider_answer(min_gjeld, attacker, CO_BORROWER)
        wrong = await attacker.get(f"{min_gjeld.url}/innlogget", params={**mixed, "iss": "https://evil.example"})
        assert wrong.status_code == 400
        # The attacker's own answer, in the attacker's browser, logs the attacker in.
        again = await provider_answer(min_gjeld, attacker, CO_BORROWER)
        assert (await attacker.get(f"{min_gjeld.url}/innlogget", params=again)).status_code == 303


async def test_the_language_choice_goes_back_only_to_our_own_pages(min_gjeld: MinGjeld) -> None:
    async with httpx.AsyncClient() as browser:
        token = csrf_token(await browser.get(f"{min_gjeld.url}/"))
        english = await browser.post(
            f"{min_gjeld.url}/sprak", data={"csrf_token": token, "language": "en", "back": "//evil.example/x"}
        )
        assert english.headers["location"] == "/"
        assert "Log in with ID-porten" in (await browser.get(f"{min_gjeld.url}/")).text


async def test_a_person_places_moves_and_lifts_an_identity_theft_flag(min_gjeld: MinGjeld) -> None:
    flag_page = f"{min_gjeld.url}/id-tyveri"

    async def flag() -> consent_pb2.IdentityTheftFlag:
        reply = await min_gjeld.registry.consent().GetIdentityTheftFlag(
            consent_service_pb2.GetIdentityTheftFlagRequest(), metadata=min_gjeld.registry.as_subject(PERSON)
        )
        return reply.identity_theft_flag

    async with httpx.AsyncClient() as browser:
        await min_gjeld.log_in(browser, PERSON)
        page = await browser.get(flag_page)
        assert "Du har ikke varsel om ID-tyveri." in page.text
        suggested = re.search(r'name="end_date" value="([0-9-]+)"', page.text)
        assert suggested, "the page offers an end date"
        token = csrf_token(page)
        # A date that is not one, or beyond a year: the field is named, nothing is placed.
        for bad in ("31.12.2026", "2099-01-01"):
            refused = await browser.post(flag_page, data={"csrf_token": token, "flag": "on", "end_date": bad})
            assert refused.status_code == 422 and 'aria-invalid="true"' in refused.text, bad
            assert not (await flag()).flagged
        placed = await browser.post(
            flag_page, data={"csrf_token": token, "flag": "on", "end_date": suggested.group(1)}, follow_redirects=True
        )
        assert "Varselet ditt om ID-tyveri er registrert." in placed.text and "gjelder til" in placed.text
        standing = await flag()
        assert standing.flagged
        # Through the chosen day in Norway: it ends at the midnight after it.
        assert from_proto(standing.end_time) == through(suggested.group(1))
        lifted = await browser.post(flag_page, data={"csrf_token": token, "flag": "off"}, follow_redirects=True)
        assert "Varselet ditt om ID-tyveri er fjernet." in lifted.text
        assert not (await flag()).flagged


async def test_the_statistics_are_a_public_page_and_a_csv_with_no_cell_under_k(min_gjeld: MinGjeld) -> None:
    registry = min_gjeld.registry
    await deliver_snapshot(registry, BANK, synthetic.portfolio(250, seed=8))  # some counties under k
    today = datetime.now(UTC).date()
    yesterday, long_ago = today - timedelta(days=1), today - timedelta(days=500)
    async with debt_statistics(registry) as counting:
        for day in (long_ago, yesterday, today):
            await counting.count(day)
    async with httpx.AsyncClient() as browser:  # no login: a public page
        page = await browser.get(f"{min_gjeld.url}/statistikk")
        assert page.status_code == 200 and "Gjeldsstatistikk" in page.text
        assert "<polyline" in page.text and today.isoformat() in page.text
        assert long_ago.isoformat() not in page.text  # the page shows the last 400 days
        exported = await browser.get(f"{min_gjeld.url}/statistikk.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["dag"] for r in rows} == {d.isoformat() for d in (long_ago, yesterday, today)}  # every day kept
    national = [r for r in rows if r["tabell"] == "nasjonalt"]
    assert len(national) == 3 and all(int(r["personer"]) >= 10 for r in national)
    assert all(r["personer"] == "" or int(r["personer"]) >= 10 for r in rows)
    # The figures shown are the API's: the national persons of the day, on the page.
    assert national[-1]["personer"] in page.text
    # By county, the latest day: each county by its name on the page, by its number in the CSV.
    counties = [r for r in rows if r["tabell"] == "fylke" and r["dag"] == today.isoformat()]
    shown = [r for r in counties if r["personer"]]
    assert shown and {r["celle"] for r in counties} == {*COUNTIES, "unknown"}  # every county, empty ones too
    assert f"Etter fylke, {today.isoformat()}" in page.text
    names = {**COUNTIES, "unknown": "Uten kjent fylke (bor i utlandet, på Svalbard eller er ukjent)"}
    assert all(f'<th scope="row">{names[r["celle"]]}</th><td>{r["personer"]}</td>' in page.text for r in shown)
    hidden = [r for r in counties if not r["personer"]]
    assert hidden and all(
        f'<th scope="row">{names[r["celle"]]}</th><td colspan="3">–</td>' in page.text for r in hidden
    )
