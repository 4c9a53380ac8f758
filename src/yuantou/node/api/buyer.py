"""The buyer's order API (search → select → init → confirm → status, cancel): each route one
``buyer.commands`` command; the answer names the request's transaction and message ids."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field

from yuantou.buyer.commands import AskQuote, AskStatus, Cancel, Confirm, OrderLine, RefreshOffers, Search
from yuantou.buyer.service import BuyerService
from yuantou.i18n.locales import negotiate
from yuantou.node.api.inputs import Id, Input, MessageId, Quantity, ShortText, SubscriberId, Text


class SearchIn(Input):
    query: Text = Field("", description="text to match against item names and ids")
    category: ShortText | None = None
    bpp_id: SubscriberId | None = Field(None, description="ask one producer directly instead of through the gateway")


class LineIn(Input):
    id: Id
    quantity: Quantity
    unit: ShortText = "unit"


class OrderIn(Input):
    transaction_id: MessageId
    bpp_id: SubscriberId
    provider_id: Id
    items: list[LineIn] = Field(min_length=1, max_length=500)
    window_id: Id | None = None
    delivery_gps: ShortText | None = None
    billing: dict[str, Any] | None = None


class ConfirmIn(Input):
    transaction_id: MessageId
    bpp_id: SubscriberId


class CancelIn(Input):
    reason: Text = "cancelled by buyer"
    reason_id: ShortText | None = Field(None, description="the network's cancellation reason code, if it has one")


def quote_command(action: str, body: OrderIn) -> AskQuote:
    return AskQuote(action, body.transaction_id, body.bpp_id, body.provider_id,
                    tuple(OrderLine(i.id, Decimal(str(i.quantity)), i.unit) for i in body.items),
                    body.window_id, body.delivery_gps, body.billing)


def buyer_router(buyer: BuyerService) -> APIRouter:
    api = APIRouter(tags=["buyer"])

    @api.get("/offers", summary="every producer's offer this node holds, and how the last refresh went")
    async def offers(request: Request) -> dict[str, Any]:
        return buyer.offers(negotiate(request.headers.get("accept-language")))

    @api.post("/offers/refresh", summary="ask every producer the directory lists for its catalog again")
    async def refresh_offers(request: Request) -> dict[str, Any]:
        return await buyer.refresh_offers(RefreshOffers(), negotiate(request.headers.get("accept-language")))

    @api.post("/search")
    async def search(body: SearchIn) -> dict[str, Any]:
        return await buyer.search(Search(body.query, body.category, body.bpp_id))

    @api.post("/select")
    async def select_(body: OrderIn) -> dict[str, Any]:
        return await buyer.ask_quote(quote_command("select", body))

    @api.post("/init")
    async def init(body: OrderIn) -> dict[str, Any]:
        return await buyer.ask_quote(quote_command("init", body))

    @api.post("/confirm", summary="confirm the order last quoted by on_init")
    async def confirm(body: ConfirmIn) -> dict[str, Any]:
        return await buyer.confirm(Confirm(body.transaction_id, body.bpp_id))

    @api.post("/orders/{order_id}/status")
    async def status(order_id: str) -> dict[str, Any]:
        return await buyer.ask_status(AskStatus(order_id))

    @api.post("/orders/{order_id}/cancel")
    async def cancel(order_id: str, body: CancelIn) -> dict[str, Any]:
        return await buyer.cancel(Cancel(order_id, body.reason, body.reason_id))

    return api
