"""What every dashboard shares: templates, the node-served scripts, login and logout, the guard.

Pages are server-rendered (Jinja2). Each panel polls its fragment with htmx and sends
the version it shows (``X-Panel-Version``); an unchanged panel is answered ``204``,
which htmx leaves alone, so plots are redrawn only when their data changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.locales import ENGLISH
from yuantou.protocol.envelope import epoch_iso
from yuantou.protocol.json_guard import finite
from yuantou.store.db import Database
from yuantou.web import auth
from yuantou.web.guards import same_origin
from yuantou.web.languages import LANGUAGE_COOKIE, LANGUAGE_NAMES, language_context, locale_of

STATIC = Path(__file__).parent / "static"
SCRIPTS = {"htmx.js": "htmx-2.0.11.min.js", "plotly.js": "plotly-basic-4.1.1.min.js",
           "dashboard.js": "dashboard.js", "dashboard.css": "dashboard.css",
           "shop.js": "shop.js", "shop.css": "shop.css", "console.js": "console.js", "console.css": "console.css",
           "swagger-ui.js": "swagger-ui-bundle-5.35.0.js", "swagger-ui.css": "swagger-ui-5.35.0.css",
           "swagger-favicon.png": "swagger-favicon-32x32.png", "LICENSES.txt": "THIRD-PARTY-LICENSES.txt"}


def _clock(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _figure(figure: dict[str, Any]) -> str:
    """A Plotly figure as JSON a browser reads: a missing bound is ``null`` (a gap), never ``Infinity``."""
    return json.dumps(finite(figure), separators=(",", ":"), default=str, allow_nan=False, ensure_ascii=False)


templates = Environment(loader=PackageLoader("yuantou.web", "templates"), autoescape=select_autoescape(["html"]))
templates.filters.update(clock=_clock, figure=_figure, iso=epoch_iso)


def render(name: str, **context: Any) -> str:
    """A template with its context; ``_`` and the language's names default to English (scripts, the demo)."""
    return templates.get_template(name).render(**{**language_context(ENGLISH), **context})


def panel(request: Request, name: str, **context: Any) -> Response:
    """A fragment in the reader's language, or 204 if the client already shows this version of it."""
    html = render(f"panels/{name}.html", **language_context(locale_of(request)), **context)
    version = hashlib.blake2b(html.encode(), digest_size=8).hexdigest()
    if request.headers.get("x-panel-version") == version:
        return Response(status_code=204)
    return HTMLResponse(html, headers={"X-Panel-Version": version, "Cache-Control": "no-store"})


CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
                           "form-action 'self'; frame-ancestors 'none'")
PAGES = ("/dashboard", "/login", "/logout", "/shop")
WRONG_TOKEN = N_("That is not this node's token (api_token in its config).")  # the HTML every node and directory serves itself


def mount_site(app: FastAPI, token: Callable[[], str], title: str, db: Database, site_id: str,
               root_redirect: bool = True) -> None:
    """Static scripts, ``/login``, ``/logout`` and the guard in front of ``/dashboard`` (``site_id`` names this
    node's session cookie; ``db`` keeps its sessions)."""
    site = APIRouter(include_in_schema=False)
    cookie = auth.cookie_name(site_id)

    @site.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in SCRIPTS:
            return Response("not found", status_code=404)
        return FileResponse(STATIC / SCRIPTS[name], headers={"Cache-Control": "public, max-age=86400"})

    @site.get("/login")
    async def login_page(request: Request, next: str = "/dashboard") -> HTMLResponse:
        return HTMLResponse(render("login.html", **language_context(locale_of(request)), title=title,
                                   next=auth.safe_next(next), error=None))

    @site.get("/language")
    async def language(to: str = ENGLISH, next: str = "/dashboard") -> Response:
        """Switch every page of this node to ``to`` (a cookie), and go back where the switch was made."""
        response = RedirectResponse(auth.safe_next(next), status_code=303)
        if to in LANGUAGE_NAMES:
            response.set_cookie(LANGUAGE_COOKIE, to, max_age=365 * 24 * 3600, samesite="lax", path="/")
        return response

    @site.post("/login")
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))  # the form is urlencoded, two fields
        secret, next = form.get("secret", [""])[0], form.get("next", ["/dashboard"])[0]
        if not auth.bearer_valid(token(), f"Bearer {secret}"):
            await asyncio.sleep(0.5)  # slows guessing; the token itself is long
            locale = locale_of(request)
            return HTMLResponse(render("login.html", **language_context(locale), title=title,
                                       next=auth.safe_next(next), error=gettext(locale, WRONG_TOKEN)),
                                status_code=401)
        opened = await db.run(lambda c: auth.open_session(c, token()))
        response = RedirectResponse(auth.safe_next(next), status_code=303)
        response.set_cookie(cookie, opened, max_age=auth.SESSION_SECONDS, httponly=True, samesite="strict", path="/")
        return response

    @site.post("/logout")
    async def logout(request: Request) -> Response:
        await db.run(lambda c: auth.revoke_session(c, request.cookies.get(cookie)))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(cookie, path="/")
        return response

    if root_redirect:
        @site.get("/")
        async def root() -> Response:
            return RedirectResponse("/dashboard", status_code=307)

    app.include_router(site)
    app.add_middleware(DashboardGuard, token=token, db=db, cookie=cookie)
    app.add_middleware(SecurityHeaders)


def mount_api_docs(app: FastAPI, title: str) -> None:
    """``/docs``: Swagger UI from the node's own files (FastAPI's default loads it from a CDN, and a node must
    work offline). Build the app with ``docs_url=None, redoc_url=None``. The page is in English whatever the
    reader's language (Swagger UI has no Chinese), and says so in its ``lang``."""

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{title} · API",
                                   swagger_js_url="/static/swagger-ui.js", swagger_css_url="/static/swagger-ui.css",
                                   swagger_favicon_url="/static/swagger-favicon.png")
        return HTMLResponse(bytes(page.body).decode().replace("<html>", '<html lang="en">', 1))


class SecurityHeaders:
    """Pure ASGI: every answer says it may not be framed and its type may not be sniffed; the pages get a
    Content-Security-Policy (only this node's own scripts run in them)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        page = path == "/" or path.startswith(PAGES)

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                            (b"referrer-policy", b"same-origin")]
                if page:
                    headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)


class DashboardGuard:
    """Pure ASGI, so the Beckn and API paths pay one string test and nothing else."""

    def __init__(self, app: Any, token: Callable[[], str], db: Database, cookie: str) -> None:
        self.app, self.token, self.db, self.cookie = app, token, db, cookie

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/dashboard" or path.startswith("/dashboard/")):
            return await self.app(scope, receive, send)
        request = Request(scope)
        refusal = await self.refusal(request)
        if refusal is None:
            return await self.app(scope, receive, send)
        await refusal(scope, receive, send)

    async def allowed(self, request: Request) -> str | None:
        """How the request proves it holds the token: ``bearer`` (a script), ``session`` (a browser), or None."""
        token = self.token()
        if auth.bearer_valid(token, request.headers.get("authorization")):
            return "bearer"
        secret = request.cookies.get(self.cookie)
        valid: bool = bool(secret) and await self.db.run(lambda c: auth.session_valid(c, token, secret))
        return "session" if valid else None

    async def refusal(self, request: Request) -> Response | None:
        how = await self.allowed(request)
        if how is None:
            if request.headers.get("hx-request"):  # a panel's poll: send the whole page to the login
                return Response(status_code=401, headers={"HX-Redirect": auth.login_url("/dashboard")})
            if request.method == "GET":
                query = request.url.query
                return RedirectResponse(auth.login_url(request.url.path + (f"?{query}" if query else "")),
                                        status_code=303)
            return Response("log in first", status_code=401)
        # a browser's cookie rides along on any site's request: its actions must come from the console's own pages
        if how == "session" and request.method != "GET" and (not request.headers.get("hx-request")
                                                            or not same_origin(request)):
            return Response("dashboard actions come from the dashboard (HX-Request header, this host's Origin)",
                            status_code=403)
        return None
