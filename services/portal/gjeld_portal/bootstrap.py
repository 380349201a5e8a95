"""Building the portal from its settings, and serving it (HTTP/1.1 through uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import httpx
import uvicorn
from gjeld_shared import db, translations
from gjeld_shared.errors import InvalidArgument
from gjeld_shared.identity_numbers import load_subject_keys
from gjeld_shared.institutions import InstitutionDirectory
from gjeld_shared.telemetry import tracer_provider
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from . import views
from .oidc import LoginFailed, OpenIdClient
from .pages import FormRefused, LoginNeeded, Portal
from .services import Services
from .sessions import LANGUAGES, Sessions
from .settings import PortalSettings

NAME = "portal"
HERE = Path(__file__).parent
MIGRATIONS = HERE / "migrations"
CATALOGUES = HERE / "locale"
DOMAIN = "gjeld_portal"
log = logging.getLogger("gjeld_portal.access")


def catalogue(language: str) -> Any:
    return translations.catalogue(CATALOGUES, DOMAIN, language, translations.LOCALES[language])


def page_renderer() -> Callable[..., str]:
    """Templates in each language: Jinja2 with gettext from the language's catalogue, and Norway's formats."""
    environments: dict[str, Environment] = {}
    for language in LANGUAGES:
        environment = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(["html"]),
            extensions=["jinja2.ext.i18n"],
        )
        environment.install_gettext_translations(catalogue(language), newstyle=True)  # type: ignore[attr-defined]
        environment.filters["kroner"] = lambda minor, lang=language: translations.kroner(minor, lang)
        environment.filters["moment"] = lambda when, lang=language: translations.moment(when, lang) if when else ""
        environment.filters["rate"] = lambda basis_points, lang=language: translations.rate(basis_points, lang)
        environment.filters["when"] = views.when
        environment.globals.update(language=language, names=views)
        environments[language] = environment

    def render(language: str, template: str, **context: Any) -> str:
        return environments[language].get_template(template).render(**context)

    return render


def content_security_policy(provider_origins: set[str]) -> str:
    # Forms post to the pages themselves; logging out goes on to ID-porten's end-session endpoint (a redirect after a
    # form is held to form-action too), wherever its configuration puts it.
    return "; ".join(
        [
            "default-src 'none'",
            "style-src 'self'",
            "img-src 'self'",
            f"form-action 'self' {' '.join(sorted(provider_origins))}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


def build(settings: PortalSettings) -> Starlette:
    provider = tracer_provider(f"gjeld-{NAME}", settings.trace_file)
    services = Services(settings, provider)
    http = httpx.AsyncClient(timeout=settings.call_timeout_seconds)
    engine = db.create_engine(
        settings.database(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout_seconds,
        application_name=f"gjeld-{NAME}",
        statement_timeout=settings.database_statement_timeout_seconds,
        idle_in_transaction_timeout=settings.database_idle_in_transaction_timeout_seconds,
    )
    sessions = Sessions(
        engine,
        load_subject_keys(settings.session_keys_file),
        settings.session_idle_seconds,
        settings.session_absolute_seconds,
    )
    portal = Portal(
        settings,
        services,
        OpenIdClient(settings, http),
        sessions,
        InstitutionDirectory.load(settings.institutions_file),
        page_renderer(),
    )

    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        began = time.perf_counter()
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = content_security_policy(portal.oidc.origins())
        response.headers["X-Content-Type-Options"] = "nosniff"
        # Same-origin: nothing of our addresses leaks to other sites, and our own forms carry their Origin.
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"
        if settings.secure_cookies:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        # The path only: a query may hold an authorization code. No path holds an identity number.
        log.info(
            "%s %s %d %.1f ms",
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - began) * 1e3,
        )
        return response

    async def login_needed(request: Request, error: Exception) -> Response:
        return RedirectResponse("/", status_code=303)

    async def login_failed(request: Request, error: Exception) -> Response:
        log.warning("a login failed: %s", error)
        return await portal.render(request, await portal.session(request), "error.html", 400, problem="login")

    async def form_refused(request: Request, error: Exception) -> Response:
        return await portal.render(request, await portal.session(request), "error.html", 403, problem="form")

    async def not_found(request: Request, error: Exception) -> Response:
        return await portal.render(request, await portal.session(request), "error.html", 404, problem="not_found")

    async def service_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, grpc.aio.AioRpcError)
        code = error.code()
        session = await portal.session(request)
        if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
            return await portal.render(request, session, "error.html", 404, problem="not_found")
        if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.FAILED_PRECONDITION):
            return await portal.render(request, session, "error.html", 403, problem="refused")
        log.warning("a service failed a page: %s", code.name)
        return await portal.render(request, session, "error.html", 503, problem="unavailable")

    async def page_not_found(request: Request, error: Exception) -> Response:
        return await portal.render(request, await portal.session(request), "error.html", 404, problem="not_found")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await services.close()
        await http.aclose()
        await engine.dispose()
        provider.shutdown()

    app = Starlette(
        routes=[*portal.routes(), Mount("/static", StaticFiles(directory=HERE / "static"), name="static")],
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=headers)],
        exception_handlers={
            LoginNeeded: login_needed,
            LoginFailed: login_failed,
            FormRefused: form_refused,
            InvalidArgument: not_found,
            grpc.aio.AioRpcError: service_error,
            404: page_not_found,
        },
        lifespan=lifespan,
    )
    app.state.portal = portal
    return app


def bind(address: str) -> socket.socket:
    host, port = address.rsplit(":", 1)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host.strip("[]"), int(port)))
    return sock


class HttpServer:
    """An ASGI app served by uvicorn on a socket bound first (port 0: any free port), within the running loop."""

    def __init__(self, address: str) -> None:
        self.socket = bind(address)
        self.port: int = self.socket.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, app: Any) -> int:
        self._server = uvicorn.Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="on"))
        self._task = asyncio.create_task(self._server.serve(sockets=[self.socket]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self.port

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def run(self, app: Any, port_file: Path | None = None) -> None:
        """Serve until SIGTERM or SIGINT (uvicorn's handlers), telling `port_file` the port once serving."""
        await self.start(app)
        if port_file is not None:
            port_file.parent.mkdir(parents=True, exist_ok=True)
            port_file.write_text(json.dumps({"http": self.port}))
        assert self._task is not None
        await self._task
