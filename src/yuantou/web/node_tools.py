"""Every node's own tools in the browser (``/dashboard/node/…``, behind its token): a transaction's evidence
bundle as a download, the check of a bundle someone hands over, and the rotation of the node's signing key after
a confirmation. The node passes what they need as ``NodeTools`` (the web layer never reaches into the node)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from yuantou.i18n.catalogs import N_, gettext
from yuantou.ledger.evidence import BundleError, check_bundle
from yuantou.protocol import json_guard
from yuantou.web.console_frame import console_page
from yuantou.web.form_values import UploadProblem, form_of, upload_of
from yuantou.web.languages import locale_of

HOME = "/dashboard/node"
NAV = [(f"{HOME}/evidence", N_("Evidence")), (f"{HOME}/key", N_("Signing key")), ("/dashboard", N_("Dashboard"))]
OVERLAP_SECONDS = 300


class ToolProblem(Exception):
    """Why a tool could not do it, in words (e.g. the directory refused the new key; nothing was changed)."""


@dataclass(frozen=True)
class RotatedKey:
    old_key_id: str
    new_key_id: str
    old_valid_until: datetime


@dataclass(frozen=True)
class NodeTools:
    transactions: Callable[[], Awaitable[list[tuple[str, int]]]]
    bundle: Callable[[str], Awaitable[dict[str, Any] | None]]
    key_id: Callable[[], str]
    rotate: Callable[[str, int], Awaitable[RotatedKey]] | None  # (new key id or "", overlap in s)


def mount_node_tools(app: FastAPI, tools: NodeTools) -> None:  # noqa: C901 (one nested function per route)
    router = APIRouter(include_in_schema=False)

    page = partial(console_page, title=N_("This node"), console_nav=NAV)

    async def evidence_page(request: Request, **context: Any) -> HTMLResponse:
        return page(request, "console/evidence.html", gettext(locale_of(request), N_("Evidence")),
                    f"{HOME}/evidence", transactions=await tools.transactions(),
                    **{"verdict": None, "error": None, **context})

    @router.get(f"{HOME}/evidence")
    async def evidence(request: Request) -> HTMLResponse:
        return await evidence_page(request)

    @router.get(f"{HOME}/evidence/bundle")
    async def bundle(request: Request, transaction: str = "") -> Response:
        document = await tools.bundle(transaction[:64]) if transaction.strip() else None
        if document is None:
            return await evidence_page(request, error=gettext(locale_of(request), N_(
                "This node's ledger holds no message of that transaction.")))
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in transaction)[:64]
        return Response(json.dumps(document, indent=1), media_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="evidence-{name}.json"'})

    @router.post("/dashboard/upload/evidence")
    async def check(request: Request) -> HTMLResponse:
        upload = await upload_of(request)
        if upload is None:
            return await evidence_page(request, error=gettext(locale_of(request), N_("Choose a file.")))
        try:
            verdict = check_bundle(json_guard.document(upload.text()))
        except UploadProblem as exc:
            return await evidence_page(request, error=str(exc))
        except (json_guard.JsonProblem, BundleError) as exc:
            return await evidence_page(request, error=f"{upload.name}: {exc}")
        return await evidence_page(request, verdict=verdict, file_name=upload.name)

    def key_page(request: Request, **context: Any) -> HTMLResponse:
        return page(request, "console/key.html", gettext(locale_of(request), N_("Signing key")), f"{HOME}/key",
                    can_rotate=tools.rotate is not None,
                    **{"key_id": tools.key_id(), "done": None, "error": None, "field": None, "form": {}, **context})

    @router.get(f"{HOME}/key")
    async def key(request: Request) -> HTMLResponse:
        return key_page(request)

    @router.post(f"{HOME}/key/rotate")
    async def rotate(request: Request) -> HTMLResponse:
        form = await form_of(request)
        locale = locale_of(request)
        if form.get("confirm") != "on":
            return key_page(request, form=form, field="confirm", error=gettext(locale, N_(
                "Confirm that you keep a copy of the keys folder: the new key is written next to it.")))
        if tools.rotate is None:
            return key_page(request, error=gettext(locale, N_("This node was started without its config file.")))
        try:
            done = await tools.rotate(form.get("new_key_id", "").strip()[:100], OVERLAP_SECONDS)
        except ToolProblem as problem:
            return key_page(request, form=form, error=gettext(locale, N_("The key was not rotated:")) + f" {problem}")
        return key_page(request, key_id=done.new_key_id, done=gettext(locale, N_(
            "This node now signs with {new}; {old} stays valid until {until} UTC for messages in flight."),
            new=done.new_key_id, old=done.old_key_id, until=f"{done.old_valid_until:%Y-%m-%d %H:%M:%S}"))

    app.include_router(router)
