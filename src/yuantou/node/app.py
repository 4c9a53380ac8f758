"""The node's HTTP face: Beckn endpoints under ``/beckn`` and the business API under ``/api``."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import asynccontextmanager
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import Field
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yuantou.producer.catalog_file import CatalogFileError, items_from_records
from yuantou.producer import orders as producer_logic
from yuantou.buyer.orders import select_message
from yuantou.node.api.c2m import c2m_router
from yuantou.node.api.inputs import Id, Input, MessageId, Quantity, ShortText, SubscriberId, Text
from yuantou.producer.catalog_store import catalog_json, read_catalog, upsert_items
from yuantou.node.api.pools import JoinFastPath, pool_router
from yuantou.node.service import Node, OutgoingInvalid
from yuantou.node.subscription import answer_challenge
from yuantou.protocol import envelope as env
from yuantou.protocol.envelope import BecknError
from yuantou.protocol.json_guard import finite
from yuantou.protocol.limits import PathLimit, RequestLimits
from yuantou.store.tables import inbox, orders, outbox
from yuantou.web.auth import bearer_valid
from yuantou.web.ledger_state import LedgerWatch, ledger_counts
from yuantou.web.node_pages import mount_dashboard
from yuantou.web.site import mount_api_docs


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


class FulfillmentIn(Input):
    state: ShortText = Field(description="Accepted, Packed, Shipped, Delivered or Refused")


def _callbacks(conn: Connection, **where: str) -> list[dict]:
    """Callbacks received *and applied* (so an order seen here is already in the orders table)."""
    query = select(inbox).where(inbox.c.action.like("on\\_%", escape="\\"), inbox.c.processed_at.is_not(None))
    for column, value in where.items():
        query = query.where(getattr(inbox.c, column) == value)
    rows = conn.execute(query.order_by(inbox.c.id)).mappings().all()
    return [{"action": r["action"], "from": r["sender_id"], "message_id": r["message_id"],
             "received_at": r["received_at"], "payload": json.loads(r["body"])} for r in rows]


def _orders(conn: Connection, side: str) -> list[dict]:
    rows = conn.execute(select(orders).where(orders.c.side == side).order_by(orders.c.created_at)).mappings().all()
    return [{"order_id": r["order_id"], "transaction_id": r["transaction_id"], "counterparty": r["counterparty_id"],
             "status": r["status"], "order": json.loads(r["body"])} for r in rows]


def _summary(conn: Connection) -> dict:
    def counts(column, table, key) -> dict:  # noqa: ANN001
        return {k: n for k, n in conn.execute(select(column, func.count()).select_from(table).group_by(column))}
    return {
        "inbox": counts(inbox.c.action, inbox, "action"),
        "outbox": counts(outbox.c.state, outbox, "state"),
        "orders": {f"{side}:{status}": n for side, status, n in conn.execute(
            select(orders.c.side, orders.c.status, func.count()).group_by(orders.c.side, orders.c.status))},
    }


def create_app(node: Node) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        await node.start()
        yield
        await node.stop()

    config = node.config
    app = FastAPI(title=f"Yuantou node {config.subscriber_id}", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Beckn endpoints under /beckn/{action}; business API under /api "
                              "(Authorization: Bearer <api_token>); dashboard at /dashboard.")
    app.state.node = node

    @app.post("/beckn/on_subscribe", tags=["beckn"], summary="answer the directory's subscription challenge")
    async def on_subscribe(request: Request) -> JSONResponse:
        status, body = await answer_challenge(await request.body(), request.headers.get("authorization"), node.keys,
                                              node.http, config.directory_url, config.clock_skew_seconds)
        return JSONResponse(body, status_code=status)

    @app.post("/beckn/yuantou/checkpoint", tags=["beckn"], summary="agree a pair checkpoint (Yuantou profile)")
    async def pair_checkpoint(request: Request) -> JSONResponse:
        from yuantou.messaging.pair_checkpoints import answer

        status, body = await answer(node, await request.body(), {k.lower(): v for k, v in request.headers.items()})
        return JSONResponse(body, status_code=status)

    @app.post("/beckn/{action}", tags=["beckn"], summary="Beckn core 1.1.1 action or callback")
    async def beckn(action: str, request: Request) -> JSONResponse:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        reply = await node.receive(action, body, headers)
        return JSONResponse(reply.body, status_code=reply.status, headers=reply.headers)

    @app.get("/health")
    async def health() -> dict:
        return {"subscriber_id": config.subscriber_id, "roles": config.roles, "url": config.url,
                "key_id": node.signer.key_id_header}

    def require_token(request: Request) -> None:
        if not bearer_valid(node.config.api_token, request.headers.get("authorization")):
            raise HTTPException(401, "business API needs 'Authorization: Bearer <api_token>'",
                                headers={"WWW-Authenticate": "Bearer"})

    api = APIRouter(prefix="/api", dependencies=[Depends(require_token)])
    node.ledger_watch = watch = LedgerWatch(node)

    @api.get("/ledger", tags=["node"], summary="the ledger: height, head, counterparties, last verification")
    async def ledger_state() -> dict:
        state = await node.db.run(lambda c: ledger_counts(c, config.subscriber_id))
        return {**state, "counterparties": [{"id": c["id"], "transaction_checkpoints": c["transaction_checkpoints"],
                                             "pair_checkpoint": None if c["pair"] is None else asdict(c["pair"])}
                                            for c in state["counterparties"]],
                "verification": None if watch.last is None else asdict(watch.last)}

    @api.post("/ledger/verify", tags=["node"], summary="verify the whole ledger now (what `yuantou ledger verify` "
                                                       "checks) and answer with the outcome")
    async def ledger_verify() -> dict:
        return asdict(await watch.verify_now())

    @api.get("/summary", tags=["node"])
    async def summary() -> dict:
        data = await node.db.run(_summary)
        data.update(subscriber_id=config.subscriber_id, roles=config.roles, counters=node.counters,
                    inbox_commits=node.inbox.commits)
        return data

    @api.get("/messages/{message_id}", tags=["node"], summary="callbacks received for one of our requests")
    async def messages(message_id: str, wait: float = Query(0, ge=0, le=60, allow_inf_nan=False,
                                                           description="seconds to wait for them (at most 60)"),
                       count: int = Query(1, ge=1, le=1000)) -> list[dict]:
        deadline = time.monotonic() + wait
        while True:
            found = await node.db.run(lambda c: _callbacks(c, message_id=message_id))
            if len(found) >= count or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(0.05)

    @api.get("/transactions/{transaction_id}", tags=["node"])
    async def transaction(transaction_id: str) -> list[dict]:
        return await node.db.run(lambda c: _callbacks(c, transaction_id=transaction_id))

    @api.get("/orders", tags=["node"])
    async def list_orders() -> list[dict]:
        side = "sell" if config.is_producer and not config.is_buyer else "buy"
        return await node.db.run(lambda c: _orders(c, side))

    if config.is_buyer:
        api.include_router(pool_router(node, node.pool_desk))
        app.add_middleware(JoinFastPath, node=node, desk=node.pool_desk)

        async def bpp_uri(bpp_id: str) -> str:
            peer = await node.registry.find(bpp_id, "BPP")
            if peer is None:
                raise HTTPException(404, f"producer {bpp_id!r} is not in the directory")
            return peer.url

        @api.post("/search", tags=["buyer"])
        async def search(body: SearchIn) -> dict:
            intent: dict[str, Any] = {}
            if body.query:
                intent["item"] = {"descriptor": {"name": body.query}}
            if body.category:
                intent["category"] = {"id": body.category}
            if body.bpp_id:
                uri = await bpp_uri(body.bpp_id)
                ctx = await node.send_request("search", {"intent": intent}, bpp_id=body.bpp_id, bpp_uri=uri)
            else:
                ctx = await node.send_request("search", {"intent": intent},
                                              target_url=config.gateway_url or config.directory_url)
            return {"transaction_id": ctx["transaction_id"], "message_id": ctx["message_id"]}

        async def order_request(action: str, body: OrderIn) -> dict:
            message = select_message(body.provider_id, [i.model_dump() for i in body.items], body.window_id, body.delivery_gps)
            if body.billing:
                message["order"]["billing"] = body.billing
            ctx = await node.send_request(action, message, transaction_id=body.transaction_id,
                                          bpp_id=body.bpp_id, bpp_uri=await bpp_uri(body.bpp_id))
            return {"transaction_id": ctx["transaction_id"], "message_id": ctx["message_id"]}

        @api.post("/select", tags=["buyer"])
        async def select_(body: OrderIn) -> dict:
            return await order_request("select", body)

        @api.post("/init", tags=["buyer"])
        async def init(body: OrderIn) -> dict:
            return await order_request("init", body)

        @api.post("/confirm", tags=["buyer"], summary="confirm the order last quoted by on_init")
        async def confirm(body: ConfirmIn) -> dict:
            found = await node.db.run(lambda c: _callbacks(c, transaction_id=body.transaction_id, action="on_init",
                                                           sender_id=body.bpp_id))
            quoted = [f for f in found if not f["payload"].get("error")]
            if not quoted:
                raise HTTPException(409, "no successful on_init from this producer in this transaction; call /api/init first")
            order = quoted[-1]["payload"]["message"]["order"]
            ctx = await node.send_request("confirm", {"order": order}, transaction_id=body.transaction_id,
                                          bpp_id=body.bpp_id, bpp_uri=await bpp_uri(body.bpp_id))
            return {"transaction_id": ctx["transaction_id"], "message_id": ctx["message_id"]}

        async def order_action(action: str, order_id: str, message: dict) -> dict:
            row = await node.db.run(lambda c: c.execute(select(orders).where(
                orders.c.order_id == order_id, orders.c.side == "buy")).mappings().first())
            if row is None:
                raise HTTPException(404, f"no order {order_id!r} at this node")
            ctx = await node.send_request(action, message, transaction_id=row["transaction_id"],
                                          bpp_id=row["counterparty_id"], bpp_uri=await bpp_uri(row["counterparty_id"]))
            return {"transaction_id": ctx["transaction_id"], "message_id": ctx["message_id"]}

        @api.post("/orders/{order_id}/status", tags=["buyer"])
        async def status(order_id: str) -> dict:
            return await order_action("status", order_id, {"order_id": order_id})

        @api.post("/orders/{order_id}/cancel", tags=["buyer"])
        async def cancel(order_id: str, body: CancelIn) -> dict:
            message = {"order_id": order_id, "descriptor": {"name": body.reason}}
            if body.reason_id:
                message["cancellation_reason_id"] = body.reason_id
            return await order_action("cancel", order_id, message)

    if config.is_producer:
        api.include_router(c2m_router(node))

        @api.get("/catalog", tags=["producer"])
        async def get_catalog() -> dict:
            items = await node.db.run(read_catalog)
            return catalog_json(node.provider.id, node.provider.name, list(items.values()))

        @api.put("/catalog/items", tags=["producer"], summary="add or replace items (same shape as the catalog file)")
        async def put_items(records: list[dict[str, Any]]) -> dict:
            try:
                items = items_from_records(records, "request body")
            except CatalogFileError as exc:
                raise HTTPException(422, str(exc)) from None
            await node.db.run(lambda c: upsert_items(c, items))
            return {"updated": [i.id for i in items]}

        @api.post("/orders/{order_id}/fulfillment", tags=["producer"], summary="accept, progress or refuse an order")
        async def fulfillment(order_id: str, body: FulfillmentIn) -> dict:
            try:
                order, context = await node.db.run(lambda c: node.advance_order(c, order_id, body.state))
            except BecknError as exc:
                status = 404 if exc.code == env.ORDER_NOT_FOUND else 422 if exc.code == env.INVALID_REQUEST else 409
                raise HTTPException(status, exc.message) from None
            node.outbox.wake()
            return {"order": order, "message_id": context["message_id"]}

    app.include_router(api)
    mount_dashboard(app, node)
    mount_api_docs(app, f"Yuantou node {config.subscriber_id}")

    # outermost: no handler (nor the join fast path) reads a body over its limit or nested too deep
    app.add_middleware(RequestLimits, limits=[PathLimit("/api", config.max_api_body_bytes, api=True),
                                              PathLimit("/dashboard", 64 << 10, api=True),
                                              PathLimit("/login", 4 << 10, api=True)],
                       default=PathLimit("/", config.max_body_bytes))

    @app.exception_handler(RequestValidationError)
    async def invalid_input(_: Request, exc: RequestValidationError) -> JSONResponse:
        """FastAPI's 422, but written so that any input can be echoed: an infinite number in a body made its own
        handler fail with a 500 ("Out of range float values are not JSON compliant")."""
        return JSONResponse({"detail": finite(jsonable_encoder(exc.errors(), custom_encoder={
            bytes: lambda b: b.decode("utf-8", "replace")[:200]}))}, status_code=422)

    @app.exception_handler(OutgoingInvalid)
    async def outgoing_invalid(_: Request, exc: OutgoingInvalid) -> JSONResponse:
        return JSONResponse({"detail": "the message would break Beckn core 1.1.1",
                             "violations": [{"path": v.path, "message": v.message} for v in exc.violations]},
                            status_code=422)

    return app
