"""The producer's catalog and order API: each route one ``producer.commands`` command."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import Field

from yuantou.domain.fulfilment import REASON_MAX
from yuantou.node.api.inputs import Input, ShortText
from yuantou.producer.catalog_file import CatalogFileError, items_from_records
from yuantou.producer.commands import AdvanceOrder, ProducerProblem, PutItems, RetireItem, SetAutoAccept
from yuantou.producer.service import ProducerService


class FulfillmentIn(Input):
    state: ShortText = Field(description="Accepted, Packed, Shipped, Delivered or Refused: forward only, a step may "
                                         "be skipped; an order can be refused until it is shipped")
    reason: str = Field("", max_length=REASON_MAX, description="why it is refused (told to the buyer)")


class SettingsIn(Input):
    auto_accept: bool = Field(description="accept each order as it is confirmed (a buyer confirms within capacity only)")


def producer_router(producer: ProducerService) -> APIRouter:
    api = APIRouter(tags=["producer"])

    @api.get("/catalog")
    async def get_catalog() -> dict[str, Any]:
        return await producer.catalog()

    @api.put("/catalog/items", summary="add or replace items (same shape as the catalog file)")
    async def put_items(records: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            items = items_from_records(records, "request body")
        except CatalogFileError as exc:
            raise ProducerProblem("invalid", str(exc)) from None
        return await producer.put_items(PutItems(tuple(items)))

    @api.delete("/catalog/items/{item_id}", summary="retire an item (orders that bought it keep it)")
    async def retire_item(item_id: str) -> dict[str, Any]:
        await producer.retire_item(RetireItem(item_id))
        return {"retired": item_id}

    @api.get("/settings", summary="the producer's settings changed while it runs")
    async def get_settings() -> dict[str, Any]:
        return {"auto_accept": await producer.auto_accepts()}

    @api.put("/settings", summary="auto_accept: accept each order as it is confirmed (only within capacity)")
    async def put_settings(body: SettingsIn) -> dict[str, Any]:
        return {"auto_accept": await producer.set_auto_accept(SetAutoAccept(body.auto_accept))}

    @api.post("/orders/{order_id}/fulfillment", summary="accept, progress or refuse an order")
    async def fulfillment(order_id: str, body: FulfillmentIn) -> dict[str, Any]:
        return await producer.advance_order(AdvanceOrder(order_id, body.state, body.reason))

    return api
