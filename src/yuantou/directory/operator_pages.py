"""The directory operator's console (``/dashboard/operator``, behind the directory's token): every subscriber with
its keys and status, the attempts to subscribe still pending, and the buttons that suspend, reinstate or revoke a
subscriber or clear stale attempts. Routes only translate forms into ``directory.operator`` commands."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse

from yuantou.directory.operator import (
    REVOKED,
    SUSPENDED,
    ClearPending,
    OperatorDesk,
    OperatorProblem,
    Reinstate,
    Revoke,
    Suspend,
)
from yuantou.directory.pages import key_state
from yuantou.i18n.catalogs import N_, gettext
from yuantou.web.console_frame import console_page
from yuantou.web.form_values import form_of
from yuantou.web.languages import locale_of

HOME = "/dashboard/operator"
NAV = [(HOME, N_("Subscribers")), ("/dashboard", N_("Dashboard"))]
STATES = {"valid": N_("valid"), "expired": N_("expired"), "not yet valid": N_("not yet valid"),
          "suspended": N_("suspended"), "revoked": N_("revoked"), "initiated": N_("pending"),
          "under_subscription": N_("pending")}
DONE = {"suspend": N_("{id} is suspended: the gateway and every node's lookup refuse it."),
        "reinstate": N_("{id} is reinstated."), "revoke": N_("{id} is revoked: its keys ended now.")}
REFUSED = {"unknown_subscriber": N_("The directory lists no such subscriber."),
           "revoked": N_("This subscriber is revoked: only a new key (yuantou directory reset-keys) brings it back."),
           "not_suspended": N_("This subscriber is not suspended.")}
CLEARED = N_("{n} pending attempts removed.")


def mount_operator_console(app: FastAPI, desk: OperatorDesk) -> None:
    router = APIRouter(prefix=HOME, include_in_schema=False)

    async def answer(request: Request, done: str | None = None, error: str | None = None) -> HTMLResponse:
        locale = locale_of(request)
        now = time.time()
        listed: dict[str, dict[str, Any]] = {}
        pending = []
        for entry in await desk.entries():
            state = key_state(entry, now)
            row = {**entry, "state_text": gettext(locale, STATES.get(state, state))}
            if entry["pending"]:
                pending.append(row)
                continue
            who = listed.setdefault(entry["subscriber_id"], {"id": entry["subscriber_id"], "entries": [],
                                                             "statuses": set()})
            who["entries"].append(row)
            who["statuses"].add(entry["status"])
        return console_page(request, "console/operator.html", gettext(locale, N_("Subscribers")), HOME,
                            title=N_("Directory operator"), console_nav=NAV,
                            subscribers=sorted(listed.values(), key=lambda s: s["id"]), pending=pending, done=done,
                            error=error, suspended=SUSPENDED, revoked=REVOKED)

    @router.get("")
    async def page(request: Request) -> HTMLResponse:
        return await answer(request)

    @router.post("/act")
    async def act(request: Request) -> HTMLResponse:
        form = await form_of(request)
        subscriber_id, action = form.get("subscriber_id", "")[:255], form.get("action", "")
        commands = {"suspend": lambda: desk.suspend(Suspend(subscriber_id)),
                    "reinstate": lambda: desk.reinstate(Reinstate(subscriber_id)),
                    "revoke": lambda: desk.revoke(Revoke(subscriber_id))}
        locale = locale_of(request)
        if action not in commands:
            return await answer(request, error=gettext(locale, N_("This value is not valid here.")))
        try:
            await commands[action]()
        except OperatorProblem as problem:
            return await answer(request, error=gettext(locale, REFUSED[problem.code]))
        return await answer(request, done=gettext(locale, DONE[action], id=subscriber_id))

    @router.post("/pending/clear")
    async def clear(request: Request) -> HTMLResponse:
        form = await form_of(request)
        minutes = 0 if form.get("all") == "on" else 10
        removed = await desk.clear_pending(ClearPending(timedelta(minutes=minutes)))
        return await answer(request, done=gettext(locale_of(request), CLEARED, n=removed))

    app.include_router(router)
