"""The organiser's console (``/dashboard/organiser``, behind the node's token): offers kept fresh, pools opened
from a producer's terms, shared as links and QR codes, closed or re-sourced, pick lists printed on A4, and
the hand-out by pickup code.

Every route only translates: forms become ``buyer.commands`` for ``BuyerService``; a refusal is shown next
to the field it names, in the reader's language. Forms post through htmx, so the dashboard's guard (a
SameSite=Strict session, the ``HX-Request`` header, this host's ``Origin``) stops cross-site requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import tzinfo
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from yuantou.buyer.commands import ClosePool, HandOut, OpenPool, RefreshOffers, Resource, Tier
from yuantou.buyer.households import Household
from yuantou.buyer.pick_list_csv import pick_list_csv
from yuantou.buyer.service import BuyerService
from yuantou.domain.pooling import PoolProblem
from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.money import money
from yuantou.i18n.refusals import refusal_text
from yuantou.web.console_frame import console_page
from yuantou.web.form_values import form_of, moment, number
from yuantou.web.languages import locale_of
from yuantou.web.local_text import day_and_time, local, quantity, time_span
from yuantou.web.order_lines import STATUS
from yuantou.web.pool_cards import pool_card
from yuantou.web.qr import qr_svg

HOME = "/dashboard/organiser"
TIER_ROWS = 5
POOL_FIELDS = {"cutoff": "cutoff", "window": "window_start", "window_start": "window_start",
               "window_end": "window_end", "bulk_unit": "bulk_unit", "moq": "moq", "max_quantity": "max_quantity",
               "step": "step", "tiers": "tiers", "pickup_points": "pickup_points", "item_id": "form",
               "category": "form", "unit": "unit"}
CLOSED = {"open": N_("Open"), "allocated": N_("Allocated"), "failed": N_("Failed")}
PROCUREMENT = {"pending": N_("To be bought"), "ordering": N_("Ordering"), "ordered": N_("Ordered"),
               "unsourced": N_("Could not be bought")}
HANDED = N_("Handed out: {quantity} of {item} to {household}.")
CONSOLE_NAV = [(HOME, N_("Pools")), (f"{HOME}/offers", N_("Producers' offers")), (f"{HOME}/pick-lists", N_("Pick lists")),
               (f"{HOME}/hand-out", N_("Hand out"))]


def _field(path: str | None) -> str:
    if path and path.startswith("tiers"):
        return "tiers"
    if path and path.startswith("pickup_points"):
        return "pickup_points"
    return POOL_FIELDS.get(path or "", "form")


def _local_input(epoch: float, zone: tzinfo) -> str:
    """A time as a ``datetime-local`` input shows it: the node's local time, to the minute."""
    return local(epoch, zone).strftime("%Y-%m-%dT%H:%M")


def who(contacts: dict[str, Household], household: str) -> tuple[str, str]:
    """A household's name and phone as the organiser knows them (one not registered at the storefront: its id)."""
    found = contacts.get(household)
    return (found.name, found.phone) if found else (household, "")


def procurement_text(view: dict[str, Any], locale: str) -> str:
    """How a closed pool is being bought, in words ("" while open)."""
    state = (view.get("procurement") or {}).get("state")
    return gettext(locale, PROCUREMENT[state]) if state in PROCUREMENT else ""


def peer_money(amount: Any, currency: Any, locale: str) -> str:
    """A price from a peer's catalog: formatted if it is a number and a currency code, else shown as given."""
    try:
        return money(str(amount), str(currency or "CNY"), locale)
    except (ArithmeticError, ValueError, TypeError):
        return f"{amount} {currency or ''}".strip()


def mount_console(app: FastAPI, buyer: BuyerService, zone: tzinfo, public_base: Callable[[Request], str],
                  nav: list[tuple[str, str]]) -> None:  # noqa: C901 (one nested function per route)
    router = APIRouter(prefix=HOME, include_in_schema=False)

    page = partial(console_page, title=N_("Organiser console"), console_nav=CONSOLE_NAV, nav=nav)

    def text(request: Request, message: str, **values: Any) -> str:
        return gettext(locale_of(request), message, **values)

    def share(request: Request, pool_id: str, points: tuple[str, ...]) -> list[dict[str, Any]]:
        base = public_base(request)
        links = [(text(request, N_("This pool")), f"{base}/shop/pools/{pool_id}")]
        links += [(text(request, N_("Pickup point {point}"), point=p), f"{base}/shop/at/{quote(p, safe='')}")
                  for p in points]
        return [{"label": label, "url": url, "qr": qr_svg(url, text(request, N_("QR code of {link}"), link=label),
                                                         scale=3)} for label, url in links]

    # -- pools --------------------------------------------------------------------------------------

    @router.get("")
    async def pools_page(request: Request) -> HTMLResponse:
        locale = locale_of(request)
        rows = []
        for view in reversed(await buyer.pools()):
            terms_text = quantity(view["pooled_min"], view["unit"])
            rows.append({**view, "status_text": gettext(locale, CLOSED.get(view["status"], view["status"])),
                         "procurement_text": procurement_text(view, locale),
                         "cutoff_text": day_and_time(view["cutoff"], zone, locale), "pooled_text": terms_text,
                         "title": buyer.item_name(view["product"]["item_id"]) or view["product"]["item_id"]
                         or view["product"]["category"]})
        return page(request, "console/pools.html", text(request, N_("Pools")), pools=rows)

    @router.get("/pools/new")
    async def new_pool(request: Request, producer: str = "", provider: str = "", item: str = "") -> Response:
        return pool_form(request, producer, provider, item)

    @router.get("/pools/{pool_id}")
    async def pool_page(pool_id: str, request: Request) -> Response:
        return await pool_answer(request, pool_id)

    async def pool_answer(request: Request, pool_id: str, done: str | None = None, error: str | None = None) -> Response:
        """The pool's page, with what an action just did (never from the query string: no text can be planted)."""
        locale = locale_of(request)
        snapshot = await buyer.snapshot(pool_id)
        if snapshot is None:
            return Response(refusal_text("unknown_pool", locale), status_code=404)
        view = await buyer.pool(pool_id)
        card = pool_card(pool_id, snapshot.terms, snapshot.status, snapshot.pooled, snapshot.households,
                         buyer.sources(snapshot.terms.spec), zone, locale)
        members = await buyer.pool_members(pool_id)
        contacts = await buyer.contacts({m["household"] for m in members})
        people = [{**m, **dict(zip(("name", "phone"), who(contacts, m["household"]))),
                   "status_text": gettext(locale, STATUS.get(m["status"], m["status"]))} for m in members]
        return page(request, "console/pool.html", card.title, f"{HOME}/pools/{pool_id}", card=card, view=view,
                    people=people,
                    links=share(request, pool_id, card.pickup_points), done=done, error=error,
                    status_text=gettext(locale, CLOSED.get(view["status"], view["status"])),
                    procurement_text=procurement_text(view, locale))

    async def pool_action(request: Request, pool_id: str, action: Callable[[], Any], done: str) -> Response:
        try:
            await action()
        except PoolProblem as problem:
            return await pool_answer(request, pool_id, error=refusal_text(problem.code, locale_of(request),
                                                                           problem.path))
        return await pool_answer(request, pool_id, done=text(request, done))

    @router.post("/pools/{pool_id}/close")
    async def close(pool_id: str, request: Request) -> Response:
        return await pool_action(request, pool_id, lambda: buyer.close_pool(ClosePool(pool_id)),
                                 N_("The pool is closed: its lines are allocated and it is being bought."))

    @router.post("/pools/{pool_id}/resource")
    async def resource(pool_id: str, request: Request) -> Response:
        return await pool_action(request, pool_id, lambda: buyer.resource(Resource(pool_id)),
                                 N_("The pool will be bought again from the producers' current offers."))

    # -- offers and opening a pool --------------------------------------------------------------------

    @router.get("/offers")
    async def offers_page(request: Request) -> HTMLResponse:
        return offers_answer(request, buyer.offers(locale_of(request)))

    def offers_answer(request: Request, offers: dict[str, Any]) -> HTMLResponse:
        locale = locale_of(request)
        rows = [{**row, "price_text": peer_money(row["price"], row["currency"], locale),
                 "seen_text": day_and_time(row["seen_at"], zone, locale) if row["seen_at"] else "",
                 "producer_name": buyer.producer_name(row["producer"]),
                 "open_url": f"{HOME}/pools/new?producer={quote(row['producer'])}&provider={quote(row['provider'])}"
                             f"&item={quote(row['item_id'])}"} for row in offers["offers"]]
        refreshed = (offers.get("last_refresh") or {}).get("at")
        return page(request, "console/offers.html", text(request, N_("Producers' offers")), f"{HOME}/offers", offers=rows,
                    warning=offers["warning"], refreshed=day_and_time(refreshed, zone, locale) if refreshed else None)

    @router.post("/offers/refresh")
    async def refresh(request: Request) -> HTMLResponse:
        return offers_answer(request, await buyer.refresh_offers(RefreshOffers(), locale_of(request)))

    def pool_form_defaults(producer: str, provider: str, item: str) -> dict[str, Any] | None:
        terms = buyer.offer_terms(producer, provider, item)
        if terms is None:
            return None
        cutoff = buyer.schedule.next_cutoff(time.time())
        start, end = buyer.schedule.pickup_window(cutoff)
        window = next(((s, e) for _, s, e, _ in terms.windows if s >= cutoff), None)
        if window and not (window[0] <= start and end <= window[1]):
            start, end = window[0], min(window[1], window[0] + 4 * 3600)
        form = {"producer": producer, "provider": provider, "item": item, "cutoff": _local_input(cutoff, zone),
                "window_start": _local_input(start, zone), "window_end": _local_input(end, zone),
                "unit": terms.unit, "step": "0.5" if terms.unit == "kg" else "1",
                "bulk_unit": format((terms.bulk_unit or Decimal(1)).normalize(), "f"),
                "moq": format(terms.moq.normalize(), "f"), "max_quantity": "", "pickup_points": ""}
        for i in range(TIER_ROWS):
            tier = terms.tiers[i] if i < len(terms.tiers) else None
            form[f"tier_min_{i}"] = format(tier[0].normalize(), "f") if tier else ""
            form[f"tier_price_{i}"] = format(tier[1].quantize(Decimal("0.01")), "f") if tier else ""
        return {"form": form, "terms": terms}

    def pool_form(request: Request, producer: str, provider: str, item: str, form: dict[str, str] | None = None,
                  errors: dict[str, str] | None = None) -> Response:
        defaults = pool_form_defaults(producer, provider, item)
        if defaults is None:
            return Response(refusal_text("unknown_product", locale_of(request)), status_code=404)
        locale, terms = locale_of(request), defaults["terms"]
        windows = [{"id": w, "text": time_span(s, e, zone, locale), "capacity": quantity(c, terms.unit)}
                   for w, s, e, c in terms.windows]
        at = f"{HOME}/pools/new?producer={quote(producer)}&provider={quote(provider)}&item={quote(item)}"
        return page(request, "console/new_pool.html", text(request, N_("Open a pool")), at, terms=terms,
                    producer_name=buyer.producer_name(producer), windows=windows, form=form or defaults["form"],
                    errors=errors or {}, tier_rows=range(TIER_ROWS), currency=terms.currency)

    @router.post("/pools")
    async def open_pool(request: Request) -> Response:
        form = await form_of(request)
        producer, provider, item = form.get("producer", ""), form.get("provider", ""), form.get("item", "")
        terms = buyer.offer_terms(producer, provider, item)
        try:
            if terms is None:
                raise PoolProblem("unknown_product", "no producer's catalog this node holds lists that item", "item_id")
            tiers = tuple(Tier(number(form.get(f"tier_min_{i}"), "tiers") or Decimal(0),
                               number(form.get(f"tier_price_{i}"), "tiers") or Decimal(0))
                          for i in range(TIER_ROWS) if form.get(f"tier_price_{i}", "").strip())
            points = tuple(p.strip() for p in form.get("pickup_points", "").splitlines() if p.strip())
            if not points:
                raise PoolProblem("bad_terms", "name at least one pickup point", "pickup_points")
            step = number(form.get("step"), "step") or Decimal(1)
            opened = await buyer.open_pool(OpenPool(
                pickup_points=points, window_start=moment(form.get("window_start"), "window_start"),
                window_end=moment(form.get("window_end"), "window_end"), cutoff=moment(form.get("cutoff"), "cutoff"),
                bulk_unit=number(form.get("bulk_unit"), "bulk_unit") or step, tiers=tiers, item_id=item,
                unit=terms.unit, step=step, moq=number(form.get("moq"), "moq", optional=True) or Decimal(0),
                max_quantity=number(form.get("max_quantity"), "max_quantity", optional=True),
                currency=terms.currency))
        except PoolProblem as problem:
            errors = {_field(problem.path): refusal_text(problem.code, locale_of(request), problem.path)}
            return pool_form(request, producer, provider, item, form, errors)
        return Response(status_code=204, headers={"HX-Redirect": f"{HOME}/pools/{opened['pool_id']}"})

    # -- pick lists and hand-out ----------------------------------------------------------------------

    async def pick_rows(request: Request) -> dict[str, list[dict[str, Any]]]:
        locale = locale_of(request)
        lists = await buyer.pick_lists()
        contacts = await buyer.contacts({r["household"] for rows in lists.values() for r in rows})
        return {point: [{**r, **dict(zip(("name", "phone"), who(contacts, r["household"]))),
                         "title": buyer.item_name(r["item"]) or r["item"],
                         "quantity_text": quantity(r["quantity"], r["unit"]),
                         "amount_text": money(r["amount"], r["currency"], locale) if r["amount"] else "",
                         "status_text": gettext(locale, STATUS.get(r["status"], r["status"])),
                         "producers": ", ".join(buyer.producer_name(f["producer"]) for f in r["from"])}
                        for r in rows] for point, rows in sorted(lists.items())}

    @router.get("/pick-lists")
    async def pick_lists(request: Request) -> HTMLResponse:
        return page(request, "console/pick_lists.html", text(request, N_("Pick lists")), lists=await pick_rows(request))

    @router.get("/pick-lists.csv")
    async def pick_lists_csv(request: Request) -> Response:
        locale = locale_of(request)
        lists = await buyer.pick_lists()
        contacts = await buyer.contacts({r["household"] for rows in lists.values() for r in rows})
        named = {point: [{**r, "household": " ".join(who(contacts, r["household"])).strip()} for r in rows]
                 for point, rows in lists.items()}
        return Response(pick_list_csv(named, locale).encode("utf-8"),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="pick-lists.csv"'})

    @router.get("/hand-out")
    async def hand_out_points(request: Request) -> HTMLResponse:
        points = sorted({p for view in await buyer.pools() for p in view["pickup_points"]})
        return page(request, "console/hand_out_points.html", text(request, N_("Hand out")), points=points,
                    quote=lambda p: quote(p, safe=""))

    async def hand_out_answer(request: Request, point: str, result: str | None = None,
                              error: str | None = None, code: str = "") -> HTMLResponse:
        sheet = await buyer.hand_out_sheet(point)
        rows = (await pick_rows(request)).get(point, [])
        waiting = [r for r in rows if r["status"] != "handed_out"]
        names = sorted({r["name"] for r in waiting})
        return page(request, "console/hand_out.html", text(request, N_("Hand out at {point}"), point=point),
                    point=point, point_url=quote(point, safe=""), sheet=sheet, waiting=waiting, names=names,
                    result=result, error=error, code=code)

    @router.get("/hand-out/{point}")
    async def hand_out_page(point: str, request: Request) -> HTMLResponse:
        return await hand_out_answer(request, point)

    @router.post("/hand-out/{point}")
    async def hand_out(point: str, request: Request) -> HTMLResponse:
        code = (await form_of(request)).get("code", "")[:40]
        locale = locale_of(request)
        try:
            done = await buyer.hand_out(HandOut(point, code))
        except PoolProblem as problem:
            return await hand_out_answer(request, point, error=refusal_text(problem.code, locale, problem.path),
                                         code=code)
        name, _ = who(await buyer.contacts({done["household"]}), done["household"])
        return await hand_out_answer(request, point, result=gettext(
            locale, HANDED, quantity=quantity(done["quantity"], done["unit"]),
            item=buyer.item_name(done["item"]) or done["item"], household=name))

    app.include_router(router)
