"""A node's dashboard: an overview every node has (itself, its ledger, its traffic), a producer page
and a buyer page, each a grid of panels that refresh themselves while the network runs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from yuantou.web import figures, node_views
from yuantou.web.bought_pools import BoughtPools
from yuantou.web.ledger_state import LedgerWatch, ledger_counts
from yuantou.web.site import mount_site, panel, render


@dataclass(frozen=True)
class Panel:
    name: str
    heading: str
    wide: bool = False
    every: str = "2s"
    include: str | None = None


OVERVIEW = [Panel("node", "This node", every="30s"), Panel("ledger", "Ledger", every="3s"),
            Panel("traffic", "Protocol traffic", wide=True)]
PRODUCER = [Panel("sales", "Incoming orders", wide=True), Panel("aimed", "Pools aimed at it", wide=True),
            Panel("catalog", "Catalog and capacity", every="5s"),
            Panel("requests", "Quotes asked without an order", every="10s"),
            Panel("forecast", "Forecasts", every="5s", include="#forecast-series"),
            Panel("stock", "Stock by expiry", every="10s"), Panel("plan", "Production plan", wide=True, every="5s")]
BUYER = [Panel("pools", "Pools", wide=True), Panel("intents", "Households' intents"),
         Panel("pick", "Pick lists", every="5s"), Panel("purchase", "Pooled orders per producer", wide=True, every="5s"),
         Panel("buys", "Orders placed", wide=True)]


def _today() -> date:
    return datetime.now(timezone.utc).date()


def mount_dashboard(app: FastAPI, node: Any) -> None:
    config = node.config
    title = f"Yuantou · {config.provider_name or config.subscriber_id}"
    mount_site(app, lambda: node.config.api_token, title, node.db, config.subscriber_id)
    watch: LedgerWatch = node.ledger_watch
    pages: dict[str, tuple[str, list[Panel]]] = {"/dashboard": ("overview", OVERVIEW)}
    if config.is_producer:
        pages["/dashboard/producer"] = ("producer", PRODUCER)
    if config.is_buyer:
        pages["/dashboard/buyer"] = ("buyer / organiser", BUYER)
    nav = [(href, label) for href, (label, _) in pages.items()]
    subtitle = f"{config.subscriber_id} · {', '.join(config.roles)}"
    router = APIRouter(include_in_schema=False)
    bought = BoughtPools()  # the pick and purchase panels' lists, kept between polls

    def page(href: str) -> Callable[[], Any]:
        label, panels = pages[href]

        async def show() -> HTMLResponse:
            return HTMLResponse(render("page.html", title=title, page_title=label, nav=nav, here=href,
                                       subtitle=subtitle, panels=panels))
        return show

    for href in pages:
        router.add_api_route(href, page(href), methods=["GET"])

    async def ledger_context() -> dict[str, Any]:
        state = await node.db.run(lambda c: ledger_counts(c, config.subscriber_id))
        watch.maybe_verify(state["height"])
        return {"state": state, "last": watch.last, "running": watch.running, "outcomes": node.pair_outcomes}

    async def context(name: str, request: Request) -> dict[str, Any]:  # noqa: C901 (one branch per panel)
        if name == "node":
            return {"config": node.config, "key_id": node.signer.key_id_header,
                    "backend": node.db.engine.dialect.name}
        if name == "ledger":
            return await ledger_context()
        if name == "traffic":
            received = node.traffic.latest(15)
            return {"counters": node.counters, "received": received, "sent": await node.db.run(node_views.sent_rows),
                    "figure": figures.traffic_figure(node.traffic.recent)}
        if name == "sales" and config.is_producer:
            return {"heading": "Incoming orders", "party": "buyer",
                    "orders": await node.db.run(lambda c: node_views.order_rows(c, "sell"))}
        if name == "buys" and config.is_buyer:
            return {"heading": "Orders placed", "party": "producer",
                    "orders": await node.db.run(lambda c: node_views.order_rows(c, "buy"))}
        if name == "aimed" and config.is_producer:
            return {"rows": await node.db.run(node_views.pool_order_rows)}
        if name == "requests" and config.is_producer:
            return {"rows": await node.db.run(node_views.open_request_rows)}
        if name == "catalog" and config.is_producer:
            return {"items": await node.db.run(node_views.catalog_rows)}
        if name == "forecast" and config.is_producer:
            data = await node.db.run(lambda c: node_views.forecast_data(c, _today()))
            chosen = request.query_params.get("series")
            chosen = chosen if chosen in data["ids"] else (data["ids"][0] if data["ids"] else None)
            figure = chosen and figures.forecast_figure(chosen, data["first"], data["history"].get(chosen, []),
                                                        data["series"].get(chosen))
            return {"run": data["run"], "ids": data["ids"], "chosen": chosen, "figure": figure}
        if name == "plan" and config.is_producer:
            plan = await node.db.run(node_views.plan_data)
            out: dict[str, Any] = {"plan": plan}
            if plan and plan["status"] != "infeasible":
                out.update(timeline=figures.plan_timeline(plan["production"]),
                           stack=figures.production_stack(plan["production"]),
                           utilisation=figures.utilisation_figure(plan["resources"]),
                           shadow=figures.shadow_price_figure(plan["resources"]))
            return out
        if name == "stock" and config.is_producer:
            lots = await node.db.run(node_views.twin_stock)
            return {"lots": lots, "figure": figures.stock_figure(lots)}
        if name == "pools" and config.is_buyer:
            pools = await node.db.run(node_views.pool_rows)
            return {"pools": pools, "figure": figures.pool_figure(pools["open"])}
        if name == "intents" and config.is_buyer:
            return {"intents": await node.db.run(node_views.intent_rows)}
        if name == "purchase" and config.is_buyer:
            return {"lists": {"purchase": await node.db.run(lambda c: node_views.purchase_rows(c, bought))}}
        if name == "pick" and config.is_buyer:
            return {"lists": await node.db.run(lambda c: node_views.pick_rows(c, bought))}
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
