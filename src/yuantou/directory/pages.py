"""The directory's dashboard: who is registered (roles, domains, cities, key validity) and what the
gateway relayed. It shows only what ``/lookup`` already answers anyone, plus the gateway's counters."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from yuantou.directory import registry
from yuantou.i18n.catalogs import N_, gettext
from yuantou.web import figures
from yuantou.web.languages import language_context, locale_of
from yuantou.web.node_pages import Panel
from yuantou.web.site import mount_site, panel, render

PANELS = [Panel("subscribers", N_("Subscribers"), wide=True, every="3s"), Panel("gateway", N_("Gateway"), every="2s")]


def key_state(entry: dict[str, Any], now: float) -> str:
    """valid, not yet valid, expired, or the registry's own status when not subscribed."""
    if entry["status"] != "SUBSCRIBED":
        return entry["status"].lower()
    start = datetime.fromisoformat(entry["valid_from"].replace("Z", "+00:00")).timestamp()
    end = datetime.fromisoformat(entry["valid_until"].replace("Z", "+00:00")).timestamp()
    return "valid" if start <= now <= end else ("not yet valid" if now < start else "expired")


def subscriber_rows(conn: Any) -> list[dict[str, Any]]:
    now = time.time()
    return [{**e, "city": e["location"]["city"]["code"], "key_state": key_state(e, now)}
            for e in registry.lookup(conn, {})]


ROLE = {"BAP": "buyer (BAP)", "BPP": "producer (BPP)", "BG": "gateway (BG)"}


def mount_directory_dashboard(app: FastAPI, db: Any, stats: Any, token: Callable[[], str], subscriber_id: str) -> None:
    title = "Yuantou · directory"
    mount_site(app, token, title, db, subscriber_id, root_redirect=False)
    router = APIRouter(include_in_schema=False)

    @router.get("/dashboard")
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(render("page.html", **language_context(locale_of(request)), title=title,
                                   page_title=N_("directory"), nav=[("/dashboard", N_("directory")),
                                                                 ("/dashboard/operator", N_("Operator console"))],
                                   here="/dashboard", subtitle=f"{subscriber_id} · registry and gateway",
                                   panels=PANELS))

    @router.get("/dashboard/panel/{name}")
    async def show(name: str, request: Request) -> Response:
        if name == "subscribers":
            rows = await db.run(subscriber_rows)
            counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for r in rows:
                counts[ROLE.get(r["type"], r["type"])][r["city"]] += 1
            people = {(r["subscriber_id"]) for r in rows}
            return panel(request, "subscribers", rows=rows, people=len(people),
                         figure=figures.count_figure(gettext(locale_of(request), N_("subscriptions per city and role")),
                                                     counts))
        if name == "gateway":
            return panel(request, "gateway", stats=stats)
        return Response(f"no panel {name!r} on the directory", status_code=404)

    app.include_router(router)
