"""Min gjeld's pages: each a thin handler that asks a service as the person and renders a template.

Every page but the landing page needs a logged-in session; every form carries the session's CSRF token; every
response carries a Content-Security-Policy and is not cached. No URL, page title or log line holds an identity
number: pages show it masked, and URLs name only notices and consents by their random ids.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
from gjeld.consent.v1 import consent_service_pb2 as consent_pb
from gjeld.ingest.v1 import ingest_service_pb2 as ingest_pb
from gjeld.lookup.v1 import lookup_service_pb2 as lookup_pb
from gjeld.notify.v1 import notify_pb2
from gjeld.notify.v1 import notify_service_pb2 as notify_pb
from gjeld_shared import fields
from gjeld_shared.institutions import InstitutionDirectory
from gjeld_shared.timestamps import to_proto
from gjeld_shared.translations import through
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from . import views
from .oidc import LoginFailed, LoginStart, OpenIdClient, origin
from .services import Services
from .sessions import LANGUAGES, Session, SessionEnded, Sessions
from .settings import PortalSettings

log = logging.getLogger(__name__)
# A token is renewed when it has less than this left, so that no call carries one about to expire.
TOKEN_MARGIN_SECONDS = 30.0
PAGE_SIZE = 50
UNREAD = object()  # a request whose session has not been read yet


class LoginNeeded(Exception):
    """No live session with a person: the browser is sent to the landing page to log in."""


class FormRefused(Exception):
    """A form without this session's CSRF token, or sent from another site."""


@dataclass
class Portal:
    settings: PortalSettings
    services: Services
    oidc: OpenIdClient
    sessions: Sessions
    institutions: InstitutionDirectory
    render_page: Callable[..., str]

    @property
    def cookie_name(self) -> str:
        # __Host-: sent only over HTTPS, to this host alone, for every path (no Domain attribute can widen it).
        return "__Host-gjeld" if self.settings.secure_cookies else "gjeld"

    @property
    def redirect_uri(self) -> str:
        return f"{self.settings.base_url}/innlogget"

    # --- sessions, tokens and calls -------------------------------------------------------------------------

    async def session(self, request: Request) -> Session | None:
        """The request's session, read once a request (every replica's pages share the sessions' table)."""
        found = getattr(request.state, "session", UNREAD)
        if found is UNREAD:
            found = request.state.session = await self.sessions.get(request.cookies.get(self.cookie_name))
        assert found is None or isinstance(found, Session)
        return found

    async def person(self, request: Request) -> Session:
        session = await self.session(request)
        if session is None or session.person is None:
            raise LoginNeeded
        return session

    async def checked_form(self, request: Request) -> tuple[Session, Any]:
        """The form of a POST whose CSRF token is this session's, sent from our own pages."""
        sent_from, site = request.headers.get("origin"), request.headers.get("sec-fetch-site")
        if (sent_from is not None and sent_from != origin(self.settings.base_url)) or site not in (None, "same-origin"):
            raise FormRefused
        form = await request.form()
        session = await self.session(request)
        token = str(form.get("csrf_token", ""))
        if session is None or not secrets.compare_digest(token.encode(), session.csrf_token.encode()):
            raise FormRefused
        return session, form

    async def token(self, session: Session, service: str) -> str:
        """The person's access token for `service`, renewed when close to expiry: one renewal at a time per session,
        across replicas (a provider that rotates refresh tokens would refuse the second of two at once)."""
        audience = self.services.audiences[service]
        held = session.tokens.get(audience)
        if held is None or held.expires_at - time.time() < TOKEN_MARGIN_SECONDS:
            try:
                held = await self.sessions.renew(session, audience, TOKEN_MARGIN_SECONDS, self.oidc.refresh)
            except SessionEnded as error:
                if error.__cause__ is not None:
                    log.info("a session could not renew its access token: %s", error.__cause__)
                raise LoginNeeded from error
        return held.value

    async def call(self, session: Session, service: str, method: Callable[..., Awaitable[Any]], request: Any) -> Any:
        metadata = [("authorization", f"Bearer {await self.token(session, service)}")]
        try:
            return await method(request, metadata=metadata, timeout=self.services.timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                await self.sessions.end(session.id)
                raise LoginNeeded from error
            raise

    async def render(
        self, request: Request, session: Session | None, template: str, status: int = 200, **context: Any
    ) -> Response:
        language = session.language if session else "nb"
        notice, current = "", request.url.path
        if session is not None and session.notice:
            notice, session.notice = session.notice, ""
            await self.sessions.save(session)
        html = self.render_page(
            language,
            template,
            session=session,
            notice=notice,
            current=current,
            institution_name=self.institution_name,
            **context,
        )
        response = HTMLResponse(html, status_code=status)
        if session is not None and request.cookies.get(self.cookie_name) != session.id:
            self.set_cookie(response, session)
        return response

    def set_cookie(self, response: Response, session: Session) -> None:
        response.set_cookie(
            self.cookie_name,
            session.id,
            path="/",
            secure=self.settings.secure_cookies,
            httponly=True,
            samesite="lax",  # lax, not strict: the browser must send it on the way back from ID-porten
        )

    def institution_name(self, organization_number: str) -> str:
        try:
            return self.institutions.get(organization_number).name
        except LookupError:
            return organization_number

    # --- logging in and out ---------------------------------------------------------------------------------

    async def landing(self, request: Request) -> Response:
        session = await self.session(request)
        if session is not None and session.person is not None:
            return RedirectResponse("/gjeld", status_code=303)
        return await self.render(request, session or await self.sessions.new(), "landing.html")

    async def log_in(self, request: Request) -> Response:
        session = await self.session(request) or await self.sessions.new()
        session.login = LoginStart.new()
        await self.sessions.save(session)
        url = await self.oidc.authorization_url(
            session.login, self.redirect_uri, list(self.services.audiences.values())
        )
        response = RedirectResponse(url, status_code=303)
        self.set_cookie(response, session)
        return response

    async def logged_in(self, request: Request) -> Response:
        session = await self.session(request)
        start = session.login if session else None
        state = request.query_params.get("state", "")
        if session is None or start is None or not secrets.compare_digest(state.encode(), start.state.encode()):
            return await self.render(request, session, "error.html", 400, problem="login")
        session.login = None  # an answer is taken once, on whichever replica takes it first
        if not await self.sessions.save(session):
            return await self.render(request, session, "error.html", 400, problem="login")
        issuer = request.query_params.get("iss")  # RFC 9207: the answer names who gave it (against mix-up)
        if "code" not in request.query_params or (issuer is not None and issuer != self.settings.oidc_issuer):
            return await self.render(request, session, "error.html", 400, problem="login")
        try:
            login = await self.oidc.finish(
                start, request.query_params["code"], self.redirect_uri, self.services.audiences["lookup"]
            )
        except LoginFailed as error:
            log.warning("a login failed: %s", error)
            return await self.render(request, session, "error.html", 400, problem="login")
        person = await self.sessions.logged_in(
            session, login.person, login.refresh_token, {login.resource: login.access}
        )
        response = RedirectResponse("/gjeld", status_code=303)
        self.set_cookie(response, person)
        return response

    async def log_out(self, request: Request) -> Response:
        session, _form = await self.checked_form(request)
        await self.sessions.end(session.id)
        goodbye = f"{self.settings.base_url}/utlogget"
        url = await self.oidc.logout_url(goodbye) if session.person else None
        response = RedirectResponse(url or "/utlogget", status_code=303)
        # A new session without the person, keeping only the language they read in.
        self.set_cookie(response, await self.sessions.new(session.language))
        return response

    async def logged_out(self, request: Request) -> Response:
        return await self.render(request, await self.session(request), "logged_out.html")

    async def choose_language(self, request: Request) -> Response:
        session, form = await self.checked_form(request)
        if form.get("language") in LANGUAGES:
            session.language = str(form["language"])
            await self.sessions.save(session)
        back = str(form.get("back", "/"))
        # Only a path of our own: never an address elsewhere (no open redirect).
        if not back.startswith("/") or back.startswith("//") or "\\" in back:
            back = "/"
        return RedirectResponse(back, status_code=303)

    # --- the pages ------------------------------------------------------------------------------------------

    async def debts(self, request: Request) -> Response:
        session = await self.person(request)
        reply = await self.call(session, "lookup", self.services.lookup.GetOwnDebt, lookup_pb.GetOwnDebtRequest())
        return await self.render(request, session, "debts.html", debt=views.own_debt(reply=reply))

    async def consents(self, request: Request) -> Response:
        session = await self.person(request)
        reply = await self.call(
            session,
            "consent",
            self.services.consent.ListConsents,
            consent_pb.ListConsentsRequest(page_size=PAGE_SIZE, page_token=request.query_params.get("side", "")),
        )
        return await self.render(
            request, session, "consents.html", consents=reply.consents, next_page=reply.next_page_token
        )

    async def consent_uses(self, request: Request) -> Response:
        session = await self.person(request)
        consent_id = str(fields.uuid_of("consent_id", request.path_params["consent_id"], "a consent id"))
        reply = await self.call(
            session,
            "consent",
            self.services.consent.ListConsentUses,
            consent_pb.ListConsentUsesRequest(
                consent_id=consent_id, page_size=PAGE_SIZE, page_token=request.query_params.get("side", "")
            ),
        )
        return await self.render(
            request,
            session,
            "consent_uses.html",
            consent_id=consent_id,
            uses=reply.uses,
            next_page=reply.next_page_token,
        )

    async def withdraw(self, request: Request) -> Response:
        session, _form = await self.checked_form(request)
        await self.person(request)
        consent_id = str(fields.uuid_of("consent_id", request.path_params["consent_id"], "a consent id"))
        await self.call(
            session,
            "consent",
            self.services.consent.WithdrawConsent,
            consent_pb.WithdrawConsentRequest(consent_id=consent_id),
        )
        session.notice = "withdrawn"
        await self.sessions.save(session)
        return RedirectResponse("/samtykker", status_code=303)

    async def disclosures(self, request: Request) -> Response:
        session = await self.person(request)
        reply = await self.call(
            session,
            "lookup",
            self.services.lookup.ListOwnDisclosures,
            lookup_pb.ListOwnDisclosuresRequest(page_size=PAGE_SIZE, page_token=request.query_params.get("side", "")),
        )
        return await self.render(
            request, session, "disclosures.html", disclosures=reply.disclosures, next_page=reply.next_page_token
        )

    async def letters(self, request: Request) -> Response:
        session = await self.person(request)
        reply = await self.call(
            session,
            "notify",
            self.services.notify.ListOwnNotices,
            notify_pb.ListOwnNoticesRequest(page_size=PAGE_SIZE, page_token=request.query_params.get("side", "")),
        )
        return await self.render(
            request, session, "letters.html", notices=reply.notices, next_page=reply.next_page_token
        )

    async def letter(self, request: Request) -> Response:
        session = await self.person(request)
        notice_id = str(fields.uuid_of("notice_id", request.path_params["notice_id"], "a notice id"))
        reply = await self.call(
            session,
            "notify",
            self.services.notify.GetOwnNoticeLetter,
            notify_pb.GetOwnNoticeLetterRequest(notice_id=notice_id),
        )
        return Response(
            reply.pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'inline; filename="gjenpart-{notice_id[:8]}.pdf"'},
        )

    async def credit_block(self, request: Request) -> Response:
        session = await self.person(request)
        reply = await self.call(
            session, "consent", self.services.consent.GetCreditBlock, consent_pb.GetCreditBlockRequest()
        )
        return await self.render(request, session, "credit_block.html", block=reply.credit_block)

    async def change_credit_block(self, request: Request) -> Response:
        session, form = await self.checked_form(request)
        await self.person(request)
        if form.get("block") not in ("on", "off"):  # a control against fraud: only ever switched as asked
            return await self.render(request, session, "error.html", 400, problem="refused")
        if form.get("block") == "on":
            await self.call(
                session, "consent", self.services.consent.PlaceCreditBlock, consent_pb.PlaceCreditBlockRequest()
            )
            session.notice = "blocked"
            await self.sessions.save(session)
        else:
            await self.call(
                session, "consent", self.services.consent.LiftCreditBlock, consent_pb.LiftCreditBlockRequest()
            )
            session.notice = "unblocked"
            await self.sessions.save(session)
        return RedirectResponse("/kredittsperre", status_code=303)

    async def identity_theft_flag(self, request: Request, problem: str = "", status: int = 200) -> Response:
        """The identity-theft flag: lenders told to verify the applicant's identity carefully, the person alerted of
        each lookup at once, until the end they choose."""
        session = await self.person(request)
        reply = await self.call(
            session, "consent", self.services.consent.GetIdentityTheftFlag, consent_pb.GetIdentityTheftFlagRequest()
        )
        return await self.render(
            request,
            session,
            "identity_theft_flag.html",
            status,
            flag=reply.identity_theft_flag,
            problem=problem,
            suggested_end=views.flag_end_suggested(),
        )

    async def change_identity_theft_flag(self, request: Request) -> Response:
        session, form = await self.checked_form(request)
        await self.person(request)
        if form.get("flag") not in ("on", "off"):  # a control against fraud: only ever switched as asked
            return await self.render(request, session, "error.html", 400, problem="refused")
        if form.get("flag") == "off":
            await self.call(
                session,
                "consent",
                self.services.consent.LiftIdentityTheftFlag,
                consent_pb.LiftIdentityTheftFlagRequest(),
            )
            session.notice = "flag_lifted"
            await self.sessions.save(session)
            return RedirectResponse("/id-tyveri", status_code=303)
        end = through(str(form.get("end_date", "")))  # whether it is too near or too far, consent judges
        if end is None:
            return await self.identity_theft_flag(request, problem="end_date", status=422)
        try:
            await self.call(
                session,
                "consent",
                self.services.consent.PlaceIdentityTheftFlag,
                consent_pb.PlaceIdentityTheftFlagRequest(end_time=to_proto(end)),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return await self.identity_theft_flag(request, problem="end_date", status=422)
        session.notice = "flag_placed"
        await self.sessions.save(session)
        return RedirectResponse("/id-tyveri", status_code=303)

    async def notices(self, request: Request, problem: str = "", status: int = 200) -> Response:
        session = await self.person(request)
        reply = await self.call(
            session, "notify", self.services.notify.GetContactPreferences, notify_pb.GetContactPreferencesRequest()
        )
        latest = await self.call(
            session, "notify", self.services.notify.ListOwnNotices, notify_pb.ListOwnNoticesRequest(page_size=1)
        )
        went = next((n.channel for n in latest.notices if n.channel), None)  # where the latest letter went
        return await self.render(
            request,
            session,
            "notices.html",
            status,
            preferences=reply.contact_preferences,
            problem=problem,
            latest_channel=went,
        )

    async def change_notices(self, request: Request) -> Response:
        session, form = await self.checked_form(request)
        await self.person(request)
        email = str(form.get("email", "")).strip() if form.get("email_consent") == "yes" else ""
        chosen = notify_pb2.ContactPreferences(email_address=email, language=str(form.get("language", "nb")))
        try:
            await self.call(
                session,
                "notify",
                self.services.notify.UpdateContactPreferences,
                notify_pb.UpdateContactPreferencesRequest(contact_preferences=chosen),
            )
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            return await self.notices(request, problem="email", status=422)
        session.notice = "saved"
        await self.sessions.save(session)
        return RedirectResponse("/varsler", status_code=303)

    async def correction(self, request: Request, problem: str = "", status: int = 200) -> Response:
        """Ask for a correction of one of one's debts (DOM-14), and see what became of earlier requests."""
        session = await self.person(request)
        debt = await self.call(session, "lookup", self.services.lookup.GetOwnDebt, lookup_pb.GetOwnDebtRequest())
        asked = await self.call(
            session,
            "ingest",
            self.services.ingest.ListOwnCorrectionRequests,
            ingest_pb.ListOwnCorrectionRequestsRequest(page_size=PAGE_SIZE),
        )
        return await self.render(
            request,
            session,
            "correction.html",
            status,
            debt=views.own_debt(reply=debt),
            requests=[views.correction(r) for r in asked.correction_requests],
            problem=problem,
        )

    async def ask_correction(self, request: Request) -> Response:
        session, form = await self.checked_form(request)
        await self.person(request)
        creditor, _, account_id = str(form.get("debt", "")).partition("/")
        asked = ingest_pb.RequestCorrectionRequest(account_id=account_id, reason=str(form.get("reason", "")))
        asked.creditor.value = creditor
        try:
            await self.call(session, "ingest", self.services.ingest.RequestCorrection, asked)
        except grpc.aio.AioRpcError as error:
            refused = {
                grpc.StatusCode.INVALID_ARGUMENT: "correction_form",
                grpc.StatusCode.NOT_FOUND: "correction_form",
                grpc.StatusCode.FAILED_PRECONDITION: "correction_open",
            }
            if error.code() not in refused:
                raise
            return await self.correction(request, problem=refused[error.code()], status=422)
        session.notice = "correction_sent"
        await self.sessions.save(session)
        return RedirectResponse("/retting", status_code=303)

    async def statistics(self, request: Request) -> Response:
        """The public page of debt statistics (issue 17): the national totals over time, as a table and a chart, and
        the latest day by age group and sex and by county. No login: the portal asks with its own certificate."""
        week_ago = datetime.now(UTC).date() - timedelta(days=7)  # the tables show their latest day only
        national, by_age_and_sex, by_county = await self._statistics(None, week_ago, week_ago)
        return await self.render(
            request,
            await self.session(request),
            "statistics.html",
            days=views.statistics_days(national),
            chart=views.statistics_chart(national),
            latest=by_age_and_sex.days[-1] if by_age_and_sex.days else None,
            counties=views.statistics_counties(by_county),
            k=national.k,
        )

    async def statistics_csv(self, request: Request) -> Response:
        """Every figure of every day kept, ten years back (not only the service's default stretch)."""
        start = datetime.now(UTC).date() - timedelta(days=views.STATISTICS_HISTORY_DAYS)
        return Response(
            views.statistics_csv(*await self._statistics(start, start, start)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="gjeldsstatistikk.csv"'},
        )

    async def _statistics(self, *firsts: date | None) -> tuple[ingest_pb.ListDebtStatisticsResponse, ...]:
        """The national table, by age group and sex, and by county (views.STATISTICS_TABLES), each from its first day
        to today (None: the service's default stretch, 400 days), asked at once."""
        ingest, timeout = self.services.ingest, self.services.timeout
        asked = [
            ingest_pb.ListDebtStatisticsRequest(table=table, first_day=first.isoformat() if first else "")
            for (table, _), first in zip(views.STATISTICS_TABLES, firsts, strict=True)
        ]
        return tuple(await asyncio.gather(*(ingest.ListDebtStatistics(a, timeout=timeout) for a in asked)))

    async def health(self, request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    def routes(self) -> list[Route]:
        return [
            Route("/", self.landing),
            Route("/logg-inn", self.log_in),
            Route("/innlogget", self.logged_in),
            Route("/logg-ut", self.log_out, methods=["POST"]),
            Route("/utlogget", self.logged_out),
            Route("/sprak", self.choose_language, methods=["POST"]),
            Route("/gjeld", self.debts),
            Route("/samtykker", self.consents),
            Route("/samtykker/{consent_id}", self.consent_uses),
            Route("/samtykker/{consent_id}/trekk-tilbake", self.withdraw, methods=["POST"]),
            Route("/utleveringer", self.disclosures),
            Route("/brev", self.letters),
            Route("/brev/{notice_id}", self.letter),
            Route("/kredittsperre", self.credit_block),
            Route("/kredittsperre", self.change_credit_block, methods=["POST"]),
            Route("/id-tyveri", self.identity_theft_flag),
            Route("/id-tyveri", self.change_identity_theft_flag, methods=["POST"]),
            Route("/varsler", self.notices),
            Route("/varsler", self.change_notices, methods=["POST"]),
            Route("/retting", self.correction),
            Route("/retting", self.ask_correction, methods=["POST"]),
            Route("/statistikk", self.statistics),
            Route("/statistikk.csv", self.statistics_csv),
            Route("/helse", self.health),
        ]
