"""What every node answers about itself: its ledger, message counts, callbacks received and orders."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query

from yuantou.messaging import records
from yuantou.messaging.core import Messenger
from yuantou.messaging.ledger_watch import LedgerWatch, ledger_counts


def records_router(messenger: Messenger, watch: LedgerWatch, order_side: str) -> APIRouter:
    api = APIRouter(tags=["node"])
    db = messenger.db
    me = messenger.config.subscriber_id

    @api.get("/ledger", summary="the ledger: height, head, counterparties, last verification")
    async def ledger_state() -> dict[str, Any]:
        state = await db.run(lambda c: ledger_counts(c, me))
        return {**state, "counterparties": [{"id": c["id"], "transaction_checkpoints": c["transaction_checkpoints"],
                                             "pair_checkpoint": None if c["pair"] is None else asdict(c["pair"])}
                                            for c in state["counterparties"]],
                "verification": None if watch.last is None else asdict(watch.last)}

    @api.post("/ledger/verify", summary="verify the whole ledger now (what `yuantou ledger verify` checks) and "
                                        "answer with the outcome")
    async def ledger_verify() -> dict[str, Any]:
        return asdict(await watch.verify_now())

    @api.get("/summary")
    async def summary() -> dict[str, Any]:
        data = await db.run(records.message_counts)
        data.update(subscriber_id=me, roles=list(messenger.config.roles), counters=messenger.counters,
                    inbox_commits=messenger.inbox.commits)
        return data

    @api.get("/messages/{message_id}", summary="callbacks received for one of our requests")
    async def messages(message_id: str, wait: float = Query(0, ge=0, le=60, allow_inf_nan=False,
                                                           description="seconds to wait for them (at most 60)"),
                       count: int = Query(1, ge=1, le=1000)) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait
        while True:
            found = await db.run(lambda c: records.callbacks(c, message_id=message_id))
            if len(found) >= count or time.monotonic() >= deadline:
                return found
            await asyncio.sleep(0.05)

    @api.get("/transactions/{transaction_id}")
    async def transaction(transaction_id: str) -> list[dict[str, Any]]:
        return await db.run(lambda c: records.callbacks(c, transaction_id=transaction_id))

    @api.get("/orders")
    async def list_orders() -> list[dict[str, Any]]:
        return await db.run(lambda c: records.orders_on_side(c, order_side))

    return api
