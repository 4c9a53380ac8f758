"""The buyer node's pooling API (``/api/pools``, ``/api/intents``, ``/api/households``) for organisers and household apps.

Quantities travel in the pool's unit (``"2.5"`` kg) and prices in currency units
(``"8.50"``); the store keeps whole steps and minor units. Every refusal is a 4xx with
``{"error": {"code", "message", "path"}}`` and changes nothing.
"""

from __future__ import annotations

import hmac
import json
import uuid
from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from typing import Annotated

from pydantic import Field, ValidationError
from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from yuantou.domain.pooling import MINOR_UNITS, Intent, Pool, PoolProblem, PoolTerms, PriceTier, ProductSpec, to_steps
from yuantou.protocol.json_guard import finite
from yuantou.node.api.inputs import Id, Input, Number, PositiveAmount, ShortText
from yuantou.buyer.pool_desk import PoolDesk, terms_from_json
from yuantou.buyer.pool_lists import household_lines, pick_lists, price, procurement_view, purchase_lists, units
from yuantou.store.tables import pool_intents, pools


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


def refusal_status(problem: PoolProblem) -> int:
    return {"unknown_pool": 404, "unknown_intent": 404, "pool_closed": 409, "already_withdrawn": 409,
            "duplicate_intent": 409, "pool_full": 409, "not_unsourced": 409}.get(problem.code, 400)


def refusal_body(problem: PoolProblem) -> dict[str, Any]:
    return {"error": {"code": problem.code, "message": problem.message, "path": problem.path}}


def refusal(problem: PoolProblem) -> JSONResponse:
    return JSONResponse(refusal_body(problem), refusal_status(problem))


def money_minor(value: Decimal, path: str) -> int:
    minor = value * MINOR_UNITS
    if minor != minor.to_integral_value() or minor <= 0:
        raise PoolProblem("bad_price", f"{value} is not a positive amount in whole minor units", path)
    return int(minor)


def _steps_or_none(value: Decimal | None, step: Decimal, path: str) -> int | None:
    return None if value is None else to_steps(value, step, path)


def epoch(moment: datetime, zone: tzinfo) -> float:
    """Seconds since the epoch of an input time; one written without an offset is the node's local time."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()


def terms_from_input(body: PoolIn, zone: tzinfo) -> PoolTerms:
    step = body.step
    try:
        tiers = tuple(PriceTier(to_steps(t.min_quantity, step, f"tiers[{i}].min_quantity"),
                                money_minor(t.price, f"tiers[{i}].price")) for i, t in enumerate(body.tiers))
        return PoolTerms(
            spec=ProductSpec(body.item_id, body.category, body.grade), pickup_points=frozenset(body.pickup_points),
            window=(epoch(body.window_start, zone), epoch(body.window_end, zone)), cutoff=epoch(body.cutoff, zone),
            bulk_unit=to_steps(body.bulk_unit, step, "bulk_unit"), moq=to_steps(body.moq, step, "moq"),
            tiers=tiers, max_quantity=_steps_or_none(body.max_quantity, step, "max_quantity"),
            target_quantity=_steps_or_none(body.target_quantity, step, "target_quantity"),
            target_turnover=None if body.target_turnover is None else money_minor(body.target_turnover, "target_turnover"),
            step=step, unit=body.unit, currency=body.currency)
    except (InvalidOperation, ArithmeticError):
        raise PoolProblem("bad_terms", "a number in the pool's terms is out of range", "tiers") from None


def intent_from_input(body: IntentIn, step: Decimal, zone: tzinfo) -> Intent:
    intent = Intent(
        body.intent_id or "intent-" + uuid.uuid4().hex[:16], body.household,
        ProductSpec(body.item_id, body.category, body.grade),
        to_steps(body.min_quantity, step, "min_quantity"), to_steps(body.max_quantity, step, "max_quantity"),
        money_minor(body.max_price, "max_price"),
        body.pickup_point, (epoch(body.window_start, zone), epoch(body.window_end, zone)))
    intent.check()
    return intent


def terms_view(terms: PoolTerms) -> dict[str, Any]:
    return {
        "product": {"item_id": terms.spec.item_id, "category": terms.spec.category, "grade": terms.spec.grade},
        "pickup_points": sorted(terms.pickup_points), "cutoff": terms.cutoff, "unit": terms.unit,
        "bulk_unit": units(terms.bulk_unit, terms.step), "moq": units(terms.moq, terms.step),
        "tiers": [{"min_quantity": units(t.min_quantity, terms.step), "price": price(t.unit_price)} for t in terms.tiers],
        "currency": terms.currency,
    }


def open_pool_view(pool: Pool) -> dict[str, Any]:
    """An open pool from memory: what a joining household sees, without reading every member back."""
    step = pool.terms.step
    return {"pool_id": pool.id, "status": pool.status.value, **terms_view(pool.terms),
            "households": len(pool.households), "pooled_min": units(pool.min_total, step),
            "pooled_max": units(pool.max_total, step), "outcome": None}


def pool_view(conn: Connection, pool_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(pools).where(pools.c.pool_id == pool_id)).mappings().first()
    if row is None:
        return None
    terms = terms_from_json(row["terms"])
    members = conn.execute(select(pool_intents).where(pool_intents.c.pool_id == pool_id)
                           .order_by(pool_intents.c.joined_at)).mappings().all()
    joined = [m for m in members if m["status"] != "withdrawn"]
    outcome = json.loads(row["outcome"]) if row["outcome"] else None
    if outcome and not outcome["failed"]:
        outcome = {"total": units(outcome["total"], terms.step), "unit_price": price(outcome["unit_price"]),
                   "households": len(outcome["lines"]), "priced_out": outcome["priced_out"],
                   "left_out": outcome["left_out"]}
    return {
        "pool_id": pool_id, "status": row["status"], **terms_view(terms),
        "households": len({m["household"] for m in joined}),
        "pooled_min": units(sum(m["min_quantity"] for m in joined), terms.step),
        "pooled_max": units(sum(m["max_quantity"] for m in joined), terms.step),
        "outcome": outcome,
        "procurement": procurement_view(conn, pool_id) if row["procurement"] else None,
    }


def pool_router(node: Any, desk: PoolDesk) -> APIRouter:  # node: yuantou.node.service.Node
    api = APIRouter(tags=["pools"])

    async def guarded(fn, grouped: bool = False) -> Any:  # noqa: ANN001
        try:
            return await (node.pool_writes.submit(fn) if grouped else node.db.run(fn))
        except PoolProblem as problem:
            return refusal(problem)

    @api.post("/pools", summary="open a pool (organiser)",
              description="Times without an offset are the node's local time (its pool_utc_offset).")
    async def open_pool(body: PoolIn) -> Any:
        def run(conn: Connection) -> dict:
            terms = terms_from_input(body, node.config.pool_schedule.zone)
            if not node.offered(terms.spec):
                raise PoolProblem("unknown_product", "no producer's catalog this node holds lists that product; "
                                                     "search for it first (POST /api/search)",
                                  "item_id" if body.item_id else "category")
            pool = desk.open_pool(conn, terms)
            return pool_view(conn, pool.id)
        return await guarded(run)

    @api.get("/pools", summary="every pool with its pooled quantities and outcome")
    async def list_pools(status: str | None = None) -> Any:
        def run(conn: Connection) -> list:
            query = select(pools.c.pool_id).order_by(pools.c.created_at)
            if status:
                query = query.where(pools.c.status == status)
            return [pool_view(conn, pid) for pid in conn.execute(query).scalars()]
        return await node.db.run(run)

    @api.get("/pools/{pool_id}")
    async def get_pool(pool_id: str) -> Any:
        found = await node.db.run(lambda c: pool_view(c, pool_id))
        return found or refusal(PoolProblem("unknown_pool", f"no pool {pool_id}", "pool_id"))

    @api.post("/pools/{pool_id}/close", summary="close a pool now: allocate, or fail with the reason")
    async def close_pool(pool_id: str) -> Any:
        def run(conn: Connection) -> dict:
            desk.close(conn, pool_id)
            node.procurement.pending = True
            return pool_view(conn, pool_id)
        return await guarded(run)

    @api.post("/intents", summary="a household's intent joins the best pool (or opens one)",
              description="Answered by `JoinFastPath` ahead of FastAPI's routing; this route documents it.")
    async def join(body: IntentIn) -> Any:
        return await guarded(join_change(node, desk, body), grouped=True)

    @api.post("/intents/{intent_id}/withdraw")
    async def withdraw(intent_id: str) -> Any:
        def run(conn: Connection) -> dict:
            desk.withdraw(conn, intent_id)
            return {"intent_id": intent_id, "status": "withdrawn"}
        return await guarded(run, grouped=True)

    @api.get("/households/{household}", summary="a household's own lines: quantity, price, pickup point, status")
    async def household(household: str) -> Any:
        return await node.db.run(lambda c: household_lines(c, household))

    @api.get("/pick-lists", summary="per pickup point: who collects how much, from which producer")
    async def pick_list(pickup_point: str | None = None) -> Any:
        return await node.db.run(lambda c: pick_lists(c, pickup_point))

    @api.get("/purchase-lists", summary="per producer: what was ordered from it for pools (以销定采)")
    async def purchase_list(producer: str | None = None) -> Any:
        return await node.db.run(lambda c: purchase_lists(c, producer))

    @api.post("/pools/{pool_id}/resource", summary="try again to buy a pool that could not be sourced")
    async def resource(pool_id: str) -> Any:
        def run(conn: Connection) -> dict:
            state = conn.execute(select(pools.c.procurement).where(pools.c.pool_id == pool_id)).first()
            if state is None:
                raise PoolProblem("unknown_pool", f"no pool {pool_id}", "pool_id")
            if state.procurement != "unsourced":
                raise PoolProblem("not_unsourced", f"pool {pool_id} is {state.procurement or 'not allocated'}; "
                                                   "only an unsourced pool can be sourced again", "pool_id")
            conn.execute(update(pools).where(pools.c.pool_id == pool_id).values(procurement="pending"))
            node.procurement.pending = True
            return pool_view(conn, pool_id)
        return await guarded(run)

    return api


def join_change(node: Any, desk: PoolDesk, body: IntentIn) -> Callable[[Connection], dict]:
    """The store change of one household joining: run by the node's group committer."""
    def run(conn: Connection) -> dict:
        if body.pool_id:
            pool = desk.book.pools.get(body.pool_id)
            step = pool.terms.step if pool else Decimal(1)  # an unknown pool is refused by the desk
        else:
            step = _step_for(desk, body, node.config.pool_schedule.step)
        intent = intent_from_input(body, step, node.config.pool_schedule.zone)
        pool = desk.join(conn, intent, pool_id=body.pool_id)
        return {"intent_id": intent.id, "pool_id": pool.id, "pool": open_pool_view(pool)}
    return run


class JoinFastPath:
    """ASGI middleware answering ``POST /api/intents`` before FastAPI routes it.

    Households' joins are the one hot path of a buyer node: FastAPI's route matching and
    dependency solving cost ~1 ms per request on this stack, the join itself ~0.1 ms. The
    answer is the same as the documented route's: the same validation (with FastAPI's
    422 shape), the same group-committed change, the same refusals.
    """

    PATH = "/api/intents"

    def __init__(self, app: Any, node: Any, desk: PoolDesk) -> None:
        self.app, self.node, self.desk = app, node, desk
        token = node.config.api_token
        self.authorization = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
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
        try:
            body = IntentIn.model_validate_json(raw)
        except ValidationError as exc:
            status, answer = 422, {"detail": [{**e, "loc": ["body", *e["loc"]]}
                                              for e in exc.errors(include_url=False, include_context=False)]}
        else:
            try:
                status, answer = 200, await self.node.pool_writes.submit(join_change(self.node, self.desk, body))
            except PoolProblem as problem:
                status, answer = refusal_status(problem), refusal_body(problem)
        data = json.dumps(finite(answer), default=str).encode()  # an echoed inf input is null, not Infinity
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})


def _step_for(desk: PoolDesk, body: IntentIn, default: Decimal) -> Decimal:
    """The step of the pools this intent could join, else the step of pools the node opens itself."""
    if not (body.item_id or body.category):
        raise PoolProblem("bad_product", "name an item or a category", "item_id")
    spec = ProductSpec(body.item_id, body.category, body.grade)
    return next((pool.terms.step for pool in desk.book.candidates(spec, body.pickup_point)), default)
