"""What every dashboard shares: templates, the node-served scripts, login and logout, the guard.

Pages are server-rendered (Jinja2). Each panel polls its fragment with htmx and sends
the version it shows (``X-Panel-Version``); an unchanged panel is answered ``204``,
which htmx leaves alone, so plots are redrawn only when their data changed.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape

from yuantou.web import auth

STATIC = Path(__file__).parent / "static"
SCRIPTS = {"htmx.js": "htmx-2.0.11.min.js", "plotly.js": "plotly-basic-4.1.1.min.js",
           "dashboard.js": "dashboard.js", "dashboard.css": "dashboard.css",
           "LICENSES.txt": "THIRD-PARTY-LICENSES.txt"}


def _clock(epoch: float | None) -> str:
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _figure(figure: dict[str, Any]) -> str:
    return json.dumps(figure, separators=(",", ":"), default=str)


templates = Environment(loader=PackageLoader("yuantou.web", "templates"), autoescape=select_autoescape(["html"]))
templates.filters.update(clock=_clock, figure=_figure)


def render(name: str, **context: Any) -> str:
    return templates.get_template(name).render(**context)


def panel(request: Request, name: str, **context: Any) -> Response:
    """A fragment, or 204 if the client already shows this version of it."""
    html = render(f"panels/{name}.html", **context)
    version = hashlib.blake2b(html.encode(), digest_size=8).hexdigest()
    if request.headers.get("x-panel-version") == version:
        return Response(status_code=204)
    return HTMLResponse(html, headers={"X-Panel-Version": version, "Cache-Control": "no-store"})


def mount_site(app: FastAPI, token: Callable[[], str], title: str, root_redirect: bool = True) -> None:
    """Static scripts, ``/login``, ``/logout`` and the guard in front of ``/dashboard``."""
    site = APIRouter(include_in_schema=False)

    @site.get("/static/{name}")
    async def static(name: str) -> Response:
        if name not in SCRIPTS:
            return Response("not found", status_code=404)
        return FileResponse(STATIC / SCRIPTS[name], headers={"Cache-Control": "public, max-age=86400"})

    @site.get("/login")
    async def login_page(next: str = "/dashboard") -> HTMLResponse:
        return HTMLResponse(render("login.html", title=title, next=auth.safe_next(next), error=None))

    @site.post("/login")
    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))  # the form is urlencoded, two fields
        secret, next = form.get("secret", [""])[0], form.get("next", ["/dashboard"])[0]
        if not auth.bearer_valid(token(), f"Bearer {secret}"):
            await asyncio.sleep(0.5)  # slows guessing; the token itself is long
            return HTMLResponse(render("login.html", title=title, next=auth.safe_next(next),
                                       error="That is not this node's token (api_token in its config)."),
                                status_code=401)
        response = RedirectResponse(auth.safe_next(next), status_code=303)
        response.set_cookie(auth.COOKIE, auth.session_value(token()), max_age=auth.SESSION_SECONDS,
                            httponly=True, samesite="strict", path="/")
        return response

    @site.post("/logout")
    async def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(auth.COOKIE, path="/")
        return response

    if root_redirect:
        @site.get("/")
        async def root() -> Response:
            return RedirectResponse("/dashboard", status_code=307)

    app.include_router(site)

    app.add_middleware(DashboardGuard, token=token)


class DashboardGuard:
    """Pure ASGI, so the Beckn and API paths pay one string test and nothing else."""

    def __init__(self, app: Any, token: Callable[[], str]) -> None:
        self.app, self.token = app, token

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/dashboard" or path.startswith("/dashboard/")):
            return await self.app(scope, receive, send)
        request = Request(scope)
        refusal = self.refusal(request)
        if refusal is None:
            return await self.app(scope, receive, send)
        await refusal(scope, receive, send)

    def refusal(self, request: Request) -> Response | None:
        if not auth.allowed(self.token(), request.cookies, request.headers.get("authorization")):
            if request.headers.get("hx-request"):  # a panel's poll: send the whole page to the login
                return Response(status_code=401, headers={"HX-Redirect": auth.login_url("/dashboard")})
            if request.method == "GET":
                query = request.url.query
                return RedirectResponse(auth.login_url(request.url.path + (f"?{query}" if query else "")),
                                        status_code=303)
            return Response("log in first", status_code=401)
        if request.method != "GET" and not request.headers.get("hx-request"):
            return Response("dashboard actions come from the dashboard (HX-Request header)", status_code=403)
        return None
