"""The buyer node's pooling API (``/api/pools``, ``/api/intents``, ``/api/households``) for organisers and household apps.

Each route turns its input into a ``buyer.commands`` command for ``BuyerService`` and its answer into JSON.
Quantities travel in the pool's unit (``"2.5"`` kg) and prices in currency units (``"8.50"``). Every
refusal is a 4xx with ``{"error": {"code", "message", "path"}}`` (``errors``) and changes nothing.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import Field, ValidationError

from yuantou.buyer.commands import ClosePool, HandOut, Join, OpenPool, Resource, Tier, Withdraw
from yuantou.buyer.pick_list_csv import pick_list_csv
from yuantou.buyer.service import BuyerService
from yuantou.domain.pooling import PoolProblem
from yuantou.i18n.locales import negotiate
from yuantou.node.api.errors import pool_refusal_body, pool_refusal_status, validation_body
from yuantou.node.api.inputs import Id, Input, Number, PositiveAmount, ShortText
from yuantou.protocol.json_guard import finite


class TierIn(Input):
    min_quantity: Number = Field(description="pooled quantity (in the pool's unit) from which this price applies")
    price: Number = Field(description="price per unit")


class PoolIn(Input):
    item_id: Id | None = None
    category: ShortText | None = None
    grade: ShortText | None = None
    pickup_points: list[ShortText] = Field(min_length=1, max_length=100)
    window_start: datetime
    window_end: datetime
    cutoff: datetime
    unit: ShortText = "kg"
    step: PositiveAmount = Field(Decimal(1), description="smallest quantity a household can ask for")
    bulk_unit: PositiveAmount = Field(description="the producer ships whole multiples of this (e.g. a 10 kg crate)")
    moq: Number = Decimal(0)
    max_quantity: Number | None = None
    target_quantity: Number | None = None
    target_turnover: Number | None = None
    tiers: list[TierIn] = Field(min_length=1, max_length=50)
    currency: Annotated[str, Field(min_length=1, max_length=8)] = "CNY"


class IntentIn(Input):
    intent_id: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    household: ShortText = Field(min_length=1)
    item_id: Id | None = None
    category: ShortText | None = None
    grade: ShortText | None = None
    min_quantity: Number
    max_quantity: Number
    max_price: Number = Field(description="highest price per unit the household accepts")
    pickup_point: ShortText
    window_start: datetime
    window_end: datetime
    pool_id: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="join this pool rather than the best one")


class HandOutIn(Input):
    code: Annotated[str, Field(min_length=1, max_length=20, description="the pickup code the household shows")]


def open_pool_command(body: PoolIn) -> OpenPool:
    return OpenPool(
        pickup_points=tuple(body.pickup_points), window_start=body.window_start, window_end=body.window_end,
        cutoff=body.cutoff, bulk_unit=body.bulk_unit, tiers=tuple(Tier(t.min_quantity, t.price) for t in body.tiers),
        item_id=body.item_id, category=body.category, grade=body.grade, unit=body.unit, step=body.step, moq=body.moq,
        max_quantity=body.max_quantity, target_quantity=body.target_quantity, target_turnover=body.target_turnover,
        currency=body.currency)


def join_command(body: IntentIn) -> Join:
    return Join(household=body.household, min_quantity=body.min_quantity, max_quantity=body.max_quantity,
                max_price=body.max_price, pickup_point=body.pickup_point, window_start=body.window_start,
                window_end=body.window_end, item_id=body.item_id, category=body.category, grade=body.grade,
                pool_id=body.pool_id, intent_id=body.intent_id)


def pool_router(buyer: BuyerService) -> APIRouter:
    api = APIRouter(tags=["pools"])

    @api.post("/pools", summary="open a pool (organiser)",
              description="Times without an offset are the node's local time (its time_zone).")
    async def open_pool(body: PoolIn) -> dict[str, Any]:
        return await buyer.open_pool(open_pool_command(body))

    @api.get("/pools", summary="every pool with its pooled quantities and outcome")
    async def list_pools(status: str | None = None) -> list[dict[str, Any]]:
        return await buyer.pools(status)

    @api.get("/pools/{pool_id}")
    async def get_pool(pool_id: str) -> dict[str, Any]:
        return await buyer.pool(pool_id)

    @api.post("/pools/{pool_id}/close", summary="close a pool now: allocate, or fail with the reason")
    async def close_pool(pool_id: str) -> dict[str, Any]:
        return await buyer.close_pool(ClosePool(pool_id))

    @api.post("/intents", summary="a household's intent joins the best pool (or opens one)",
              description="Answered by `JoinFastPath` ahead of FastAPI's routing; this route documents it.")
    async def join(body: IntentIn) -> dict[str, Any]:
        return await buyer.join(join_command(body))

    @api.post("/intents/{intent_id}/withdraw")
    async def withdraw(intent_id: str) -> dict[str, Any]:
        return await buyer.withdraw(Withdraw(intent_id))

    @api.get("/households/{household}", summary="a household's own lines: quantity, price, pickup point, status")
    async def household(household: str) -> list[dict[str, Any]]:
        return await buyer.household_lines(household)

    @api.get("/pick-lists", summary="per pickup point: who collects how much, from which producer")
    async def pick_list(pickup_point: str | None = None) -> dict[str, list[dict[str, Any]]]:
        return await buyer.pick_lists(pickup_point)

    @api.get("/pick-lists.csv", summary="the pick lists as a spreadsheet (UTF-8 with BOM), columns in the reader's "
                                        "language", response_class=Response)
    async def pick_list_spreadsheet(request: Request, pickup_point: str | None = None) -> Response:
        locale = negotiate(request.headers.get("accept-language"))
        text = pick_list_csv(await buyer.pick_lists(pickup_point), locale)
        return Response(text.encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="pick-lists.csv"',
                                 "Content-Language": locale.replace("_", "-")})

    @api.get("/purchase-lists", summary="per producer: what was ordered from it for pools (以销定采)")
    async def purchase_list(producer: str | None = None) -> dict[str, list[dict[str, Any]]]:
        return await buyer.purchase_lists(producer)

    @api.post("/pickup-points/{pickup_point}/hand-out", summary="hand out the line whose pickup code a household "
                                                                 "shows (its final state)")
    async def hand_out(pickup_point: str, body: HandOutIn) -> dict[str, Any]:
        return await buyer.hand_out(HandOut(pickup_point, body.code))

    @api.get("/pickup-points/{pickup_point}/hand-out", summary="what is left to hand out at a pickup point, and who "
                                                                "has not collected")
    async def hand_out_sheet(pickup_point: str) -> dict[str, Any]:
        return await buyer.hand_out_sheet(pickup_point)

    @api.post("/pools/{pool_id}/resource", summary="try again to buy a pool that could not be sourced")
    async def resource(pool_id: str) -> dict[str, Any]:
        return await buyer.resource(Resource(pool_id))

    return api


class JoinFastPath:
    """ASGI middleware answering ``POST /api/intents`` before FastAPI routes it.

    Households' joins are the one hot path of a buyer node: FastAPI's route matching and
    dependency solving cost ~1 ms per request on this stack, the join itself ~0.1 ms. The
    answer is the same as the documented route's: the same validation (with FastAPI's
    422 shape), the same group-committed change, the same refusals.
    """

    PATH = "/api/intents"

    def __init__(self, app: Any, buyer: BuyerService, api_token: str) -> None:
        self.app, self.buyer = app, buyer
        self.authorization = f"Bearer {api_token}".encode() if api_token else None

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Awaitable[dict[str, Any]]],
                       send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.PATH:
            return await self.app(scope, receive, send)
        given = dict(scope["headers"]).get(b"authorization", b"")
        if self.authorization is not None and not hmac.compare_digest(given, self.authorization):  # no timing hint
            return await self.app(scope, receive, send)  # FastAPI's own 401, with its headers
        raw, more = b"", True
        while more:
            message = await receive()
            raw += message.get("body", b"")
            more = message.get("more_body", False)
        def locale() -> str:  # only a refusal needs the language: joins that succeed skip the parse
            return negotiate(dict(scope["headers"]).get(b"accept-language", b"").decode("latin-1"))
        try:
            body = IntentIn.model_validate_json(raw)
        except ValidationError as exc:
            status, answer = 422, validation_body(exc.errors(include_url=False, include_context=False), locale(),
                                                  ("body",))
        else:
            try:
                status, answer = 200, await self.buyer.join(join_command(body))
            except PoolProblem as problem:
                status, answer = pool_refusal_status(problem), pool_refusal_body(problem, locale())
        data = json.dumps(finite(answer), default=str).encode()  # an echoed inf input is null, not Infinity
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})
