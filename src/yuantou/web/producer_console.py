"""The producer's console (``/dashboard/producer/…``, behind the node's token): incoming orders with their
buyer, items, window and pool, and buttons that accept, pack, ship, deliver or refuse them; packing lists and
delivery notes per delivery window and place, printable and as CSV. The catalog (``catalog_console``) and the
planning page (``planning_console``) mount on the same router and share its page frame.

Every route only translates: a button becomes ``AdvanceOrder`` for ``ProducerService``, which records the move
and queues the signed ``on_status`` to the buyer in one transaction. A refused move (a double click, an order
already shipped) is shown next to its order in the reader's language and changes nothing. Forms post through
htmx, so the dashboard's guard (SameSite=Strict session, ``HX-Request``, this host's ``Origin``) stops cross-site
requests.
"""

from __future__ import annotations

from datetime import tzinfo
from functools import partial
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from yuantou.domain.fulfilment import REFUSED
from yuantou.i18n.catalogs import N_, gettext
from yuantou.i18n.input_errors import producer_refusal_text
from yuantou.i18n.money import money
from yuantou.i18n.spreadsheet import spreadsheet_csv
from yuantou.producer.commands import (
    AdvanceOrder,
    ProducerProblem,
    SetAutoAccept,
)
from yuantou.producer.order_book import PackingList, SoldOrder
from yuantou.producer.service import ProducerService
from yuantou.web.catalog_console import mount_catalog
from yuantou.web.console_frame import console_page
from yuantou.web.form_values import form_of
from yuantou.web.languages import locale_of
from yuantou.web.local_text import day_and_time, quantity, time_span, unit_price
from yuantou.web.planning_console import mount_planning

HOME = "/dashboard/producer"
CONSOLE_NAV = [(f"{HOME}/orders", N_("Orders")), (f"{HOME}/packing", N_("Packing lists")),
               (f"{HOME}/catalog", N_("Catalog")), (f"{HOME}/planning", N_("Planning"))]
STATES = {"Pending": N_("Waiting for you"), "Accepted": N_("Accepted"), "Packed": N_("Packed"),
          "Shipped": N_("Shipped"), "Delivered": N_("Delivered"), "Refused": N_("Refused"),
          "Cancelled": N_("Cancelled by the buyer")}
MOVES = {"Accepted": N_("Accept"), "Packed": N_("Mark packed"), "Shipped": N_("Mark shipped"),
         "Delivered": N_("Mark delivered"), REFUSED: N_("Refuse")}
DONE = {"Accepted": N_("Order {order} accepted; the buyer is told."),
        "Packed": N_("Order {order} marked packed; the buyer is told."),
        "Shipped": N_("Order {order} marked shipped; the buyer is told."),
        "Delivered": N_("Order {order} marked delivered; the buyer is told."),
        REFUSED: N_("Order {order} refused; the buyer is told and its capacity is free again.")}
AUTO_ON = N_("New orders are accepted as they are confirmed; the buyer is told at once.")
AUTO_OFF = N_("New orders wait for you to accept or refuse them.")
CSV_COLUMNS = (N_("Delivery window"), N_("Delivered to"), N_("Buyer"), N_("Order"), N_("Item"), N_("Quantity"),
               N_("Unit"), N_("Amount"), N_("Status"), N_("Pool"), N_("Households"))


def short(order_id: str) -> str:
    """The first block of an order's id: what a person reads out on the phone."""
    return order_id.split("-")[0]


def mount_producer_console(app: FastAPI, producer: ProducerService, zone: tzinfo,
                           nav: list[tuple[str, str]]) -> None:  # noqa: C901 (one nested function per route)
    router = APIRouter(prefix=HOME, include_in_schema=False)

    page = partial(console_page, title=N_("Producer console"), console_nav=CONSOLE_NAV, nav=nav)

    def window_text(start: float | None, end: float | None, window_id: str, locale: str) -> str:
        return time_span(start, end, zone, locale) if start is not None and end is not None else window_id or "—"

    def order_view(order: SoldOrder, locale: str) -> dict[str, Any]:
        return {"order": order, "short": short(order.order_id),
                "state_text": gettext(locale, STATES.get(order.state, order.state)),
                "window_text": window_text(order.window_start, order.window_end, order.window_id, locale),
                "total_text": money(order.total, order.currency, locale),
                "received_text": day_and_time(order.created_at, zone, locale),
                "lines": [{"name": line.name or line.item_id, "quantity_text": quantity(line.quantity, line.unit),
                           "price_text": unit_price(line.unit_price, line.currency, line.unit, locale),
                           "amount_text": money(line.amount, line.currency, locale)} for line in order.lines],
                "moves": [(state, gettext(locale, MOVES[state])) for state in order.moves]}

    # -- orders -------------------------------------------------------------------------------------

    async def orders_answer(request: Request, show_all: bool, done: str | None = None,
                            problem: tuple[str, str, str] | None = None, reason: str = "") -> HTMLResponse:
        """The order list; ``problem``: (order id, field, sentence) of a refused move, shown at that order."""
        locale = locale_of(request)
        sold = await producer.sold_orders(open_only=not show_all)
        auto_accept = await producer.auto_accepts()
        return page(request, "console/producer_orders.html", gettext(locale, N_("Orders")),
                    f"{HOME}/orders" + ("?show=all" if show_all else ""), show_all=show_all,
                    orders=[order_view(o, locale) for o in sold], done=done, problem=problem, reason=reason,
                    refused=REFUSED, stray=problem if problem and all(o.order_id != problem[0] for o in sold) else None,
                    auto_accept=auto_accept)

    @router.get("/orders")
    async def orders_page(request: Request, show: str = "open") -> HTMLResponse:
        return await orders_answer(request, show == "all")

    @router.post("/orders/{order_id}/move")
    async def move(order_id: str, request: Request) -> Response:
        form = await form_of(request)
        state, reason = form.get("state", "")[:40], form.get("reason", "").strip()
        show_all = form.get("show") == "all"
        locale = locale_of(request)
        try:
            await producer.advance_order(AdvanceOrder(order_id, state, reason[:1000]))
        except ProducerProblem as problem:
            field = "reason" if problem.code == "reason_too_long" else "state"
            return await orders_answer(request, show_all, problem=(
                order_id, field, producer_refusal_text(problem.kind, locale, problem.code)), reason=reason)
        return await orders_answer(request, show_all, done=gettext(locale, DONE[state], order=short(order_id)))

    @router.post("/settings")
    async def settings(request: Request) -> HTMLResponse:
        form = await form_of(request)
        enabled = await producer.set_auto_accept(SetAutoAccept(form.get("auto_accept") == "on"))
        return await orders_answer(request, form.get("show") == "all", done=gettext(
            locale_of(request), AUTO_ON if enabled else AUTO_OFF))

    # -- packing lists and delivery notes -------------------------------------------------------------

    def packing_view(packing: PackingList, locale: str) -> dict[str, Any]:
        return {"window_text": window_text(packing.window_start, packing.window_end, packing.window_id, locale),
                "places_text": ", ".join(packing.places) or gettext(locale, N_("Collected at the producer")),
                "totals": [{"name": name or item, "quantity_text": quantity(q, unit)} for item, name, q, unit
                           in packing.totals],
                "orders": [order_view(o, locale) for o in packing.orders]}

    @router.get("/packing")
    async def packing_page(request: Request) -> HTMLResponse:
        locale = locale_of(request)
        lists = [packing_view(p, locale) for p in await producer.packing_lists()]
        return page(request, "console/packing.html", gettext(locale, N_("Packing lists")), f"{HOME}/packing",
                    lists=lists)

    @router.get("/packing.csv")
    async def packing_csv(request: Request) -> Response:
        locale = locale_of(request)
        rows = []
        for packing in await producer.packing_lists():
            window = window_text(packing.window_start, packing.window_end, packing.window_id, locale)
            for order in packing.orders:
                for line in order.lines:
                    rows.append([window, ", ".join(packing.places), order.buyer, order.order_id,
                                 line.name or line.item_id, format(line.quantity.normalize(), "f"), line.unit,
                                 money(line.amount, line.currency, locale),
                                 gettext(locale, STATES.get(order.state, order.state)), order.pool_id,
                                 order.households])
        body = spreadsheet_csv([gettext(locale, c) for c in CSV_COLUMNS], rows)
        return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="packing-lists.csv"'})

    mount_catalog(router, producer, page, HOME, zone, window_text)
    mount_planning(router, producer, page, HOME)
    app.include_router(router)

