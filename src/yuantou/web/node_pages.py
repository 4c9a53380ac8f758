"""A node's dashboard: an overview every node has (itself, its ledger, its traffic), a producer page
and a buyer page, each a grid of panels that refresh themselves while the network runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from yuantou.buyer import dashboard as buyer_views
from yuantou.buyer.bought_pools import BoughtPools
from yuantou.buyer.service import BuyerService
from yuantou.i18n.catalogs import N_
from yuantou.messaging import records
from yuantou.messaging.core import Messenger
from yuantou.messaging.ledger_watch import LedgerWatch, ledger_counts
from yuantou.producer import dashboard as producer_views
from yuantou.producer.service import ProducerService
from yuantou.web import figures
from yuantou.web.languages import language_context, locale_of
from yuantou.web.site import mount_site, panel, render


@dataclass(frozen=True)
class Panel:
    name: str
    heading: str
    wide: bool = False
    every: str = "2s"
    include: str | None = None


OVERVIEW = [Panel("node", N_("This node"), every="30s"), Panel("ledger", N_("Ledger"), every="3s"),
            Panel("traffic", N_("Protocol traffic"), wide=True)]
PRODUCER = [Panel("sales", N_("Incoming orders"), wide=True), Panel("aimed", N_("Pools aimed at it"), wide=True),
            Panel("catalog", N_("Catalog and capacity"), every="5s"),
            Panel("requests", N_("Quotes asked without an order"), every="10s"),
            Panel("forecast", N_("Forecasts"), every="5s", include="#forecast-series"),
            Panel("stock", N_("Stock by expiry"), every="10s"), Panel("plan", N_("Production plan"), wide=True, every="5s")]
BUYER = [Panel("pools", N_("Pools"), wide=True), Panel("intents", N_("Households' intents")),
         Panel("pick", N_("Pick lists"), every="5s"), Panel("purchase", N_("Pooled orders per producer"), wide=True, every="5s"),
         Panel("buys", N_("Orders placed"), wide=True)]


def _today() -> date:
    return datetime.now(UTC).date()


@dataclass(frozen=True)
class DashboardFeed:
    """What a node's dashboard reads: its messaging core, its ledger check and the roles it has."""

    messenger: Messenger
    ledger: LedgerWatch
    api_token: Callable[[], str]  # asked at each login: a new token in the config takes effect at once
    name: str  # the producer's or organiser's name, or the subscriber id
    buyer: BuyerService | None = None
    producer: ProducerService | None = None


def mount_dashboard(app: FastAPI, feed: DashboardFeed) -> None:  # noqa: C901 (one branch per panel)
    node = feed.messenger
    config = node.config
    is_producer, is_buyer = feed.producer is not None, feed.buyer is not None
    title = f"Yuantou · {feed.name}"
    mount_site(app, feed.api_token, title, node.db, config.subscriber_id)
    watch = feed.ledger
    pages: dict[str, tuple[str, list[Panel]]] = {"/dashboard": (N_("overview"), OVERVIEW)}
    if is_producer:
        pages["/dashboard/producer"] = (N_("producer"), PRODUCER)
    if is_buyer:
        pages["/dashboard/buyer"] = (N_("buyer / organiser"), BUYER)
    nav = [(href, label) for href, (label, _) in pages.items()]
    nav.append(("/dashboard/node/evidence", N_("This node")))
    if is_producer:
        nav.append(("/dashboard/producer/orders", N_("Producer console")))
    if is_buyer:
        nav.append(("/dashboard/organiser", N_("Organiser console")))
    subtitle = f"{config.subscriber_id} · {', '.join(config.roles)}"
    router = APIRouter(include_in_schema=False)
    bought = BoughtPools()  # the pick and purchase panels' lists, kept between polls

    def page(href: str) -> Callable[[Request], Any]:
        label, panels = pages[href]

        async def show(request: Request) -> HTMLResponse:
            return HTMLResponse(render("page.html", **language_context(locale_of(request)), title=title,
                                       page_title=label, nav=nav, here=href, subtitle=subtitle, panels=panels))
        return show

    for href in pages:
        router.add_api_route(href, page(href), methods=["GET"])

    async def ledger_context() -> dict[str, Any]:
        state = await node.db.run(lambda c: ledger_counts(c, config.subscriber_id))
        watch.maybe_verify(state["height"])
        return {"state": state, "last": watch.last, "running": watch.running, "outcomes": node.pair_outcomes}

    async def context(name: str, request: Request) -> dict[str, Any]:
        locale = locale_of(request)
        if name == "node":
            return {"config": config, "key_id": node.signer.key_id_header,
                    "backend": node.db.engine.dialect.name}
        if name == "ledger":
            return await ledger_context()
        if name == "traffic":
            received = node.traffic.latest(15)
            return {"counters": node.counters, "received": received, "sent": await node.db.run(records.sent_rows),
                    "figure": figures.traffic_figure(node.traffic.recent, locale)}
        if name == "sales" and is_producer:
            return {"heading": N_("Incoming orders"), "party": N_("buyer"),
                    "orders": await node.db.run(lambda c: records.order_rows(c, "sell"))}
        if name == "buys" and is_buyer:
            return {"heading": N_("Orders placed"), "party": N_("producer"),
                    "orders": await node.db.run(lambda c: records.order_rows(c, "buy"))}
        if name == "aimed" and is_producer:
            return {"rows": await node.db.run(producer_views.pool_order_rows)}
        if name == "requests" and is_producer:
            return {"rows": await node.db.run(producer_views.open_request_rows)}
        if name == "catalog" and is_producer:
            return {"items": await node.db.run(producer_views.catalog_rows)}
        if name == "forecast" and is_producer:
            data = await node.db.run(lambda c: producer_views.forecast_data(c, _today()))
            chosen = request.query_params.get("series")
            chosen = chosen if chosen in data["ids"] else (data["ids"][0] if data["ids"] else None)
            figure = chosen and figures.forecast_figure(chosen, data["first"], data["history"].get(chosen, []),
                                                        data["series"].get(chosen), locale=locale)
            return {"run": data["run"], "ids": data["ids"], "chosen": chosen, "figure": figure}
        if name == "plan" and is_producer:
            plan = await node.db.run(producer_views.plan_data)
            out: dict[str, Any] = {"plan": plan}
            if plan and plan["status"] != "infeasible":
                out.update(timeline=figures.plan_timeline(plan["production"], locale),
                           stack=figures.production_stack(plan["production"], locale),
                           utilisation=figures.utilisation_figure(plan["resources"], locale),
                           shadow=figures.shadow_price_figure(plan["resources"], locale))
            return out
        if name == "stock" and is_producer:
            lots = await node.db.run(producer_views.twin_stock)
            return {"lots": lots, "figure": figures.stock_figure(lots, locale)}
        if name == "pools" and is_buyer:
            pools = await node.db.run(buyer_views.pool_rows)
            return {"pools": pools, "figure": figures.pool_figure(pools["open"], locale)}
        if name == "intents" and is_buyer:
            return {"intents": await node.db.run(buyer_views.intent_rows)}
        if name == "purchase" and is_buyer:
            return {"lists": {"purchase": await node.db.run(lambda c: buyer_views.purchase_rows(c, bought))}}
        if name == "pick" and is_buyer:
            return {"lists": await node.db.run(lambda c: buyer_views.pick_rows(c, bought))}
        raise LookupError(name)

    @router.get("/dashboard/panel/{name}")
    async def show_panel(name: str, request: Request) -> Response:
        try:
            data = await context(name, request)
        except LookupError:
            return Response(f"no panel {name!r} on this node", status_code=404)
        template = "orders" if name in ("sales", "buys") else name
        return panel(request, template, **data)

    @router.post("/dashboard/ledger/verify")
    async def verify_now(request: Request) -> Response:
        watch.start()
        return panel(request, "ledger", **await ledger_context())

    app.include_router(router)
