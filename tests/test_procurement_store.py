"""Procurement against a real store: all-or-nothing when re-sourcing fails, and late confirmations undone."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from yuantou.buyer.pool_desk import PoolDesk
from yuantou.buyer.procurement import Procurement
from yuantou.domain.pooling import Intent, PoolTerms, PriceTier, ProductSpec
from yuantou.domain.sourcing import Offer
from yuantou.messaging.outbox import enqueue
from yuantou.protocol import envelope as env
from yuantou.store.db import Database
from yuantou.store.tables import outbox, pool_orders, pools

APPLES = ProductSpec(item_id="apple")
URLS = {p: f"http://127.0.0.1:9/{p}" for p in ("hill", "valley", "ridge")}


def queue_request(conn, action, message, *, transaction_id, bpp_id, bpp_uri):  # noqa: ANN001
    """The node's own queueing, minus the node: a context, a row in the real outbox."""
    context = env.make_context(action, domain="yuantou:agri", city="std:0571", country="CHN", bap_id="organiser",
                               bap_uri="http://127.0.0.1:9/organiser", transaction_id=transaction_id,
                               bpp_id=bpp_id, bpp_uri=bpp_uri, ttl="PT30S")
    enqueue(conn, target_url=bpp_uri, action=action, context=context, body=env.dumps(
        {"context": context, "message": message}), counterparty_id=bpp_id, expects_callback_until=env.expiry(context))
    return context


@pytest.fixture
def store(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'organiser.db'}")
    db.migrate()
    yield db
    db.close()


def closed_pool(db: Database, households: int, now: float) -> str:
    desk = PoolDesk()
    terms = PoolTerms(spec=APPLES, pickup_points=frozenset({"gate-3"}), window=(now + 86400, now + 90000),
                      cutoff=now + 3600, bulk_unit=10, moq=0, tiers=(PriceTier(0, 950),), unit="kg")
    pool = db.transaction(lambda c: desk.open_pool(c, terms, now))
    for i in range(households):
        intent = Intent(f"i{i}", f"h{i}", APPLES, 10, 10, 1000, "gate-3", (now, now + 2 * 86400), now + i)
        db.transaction(lambda c, it=intent: desk.join(c, it, now + i, pool.id))
    db.transaction(lambda c: desk.close(c, pool.id, now + 100))
    return pool.id


def procurement(offers: list[Offer]) -> Procurement:
    return Procurement(lambda spec, window, step: offers, lambda: URLS, queue_request, registry=None,
                       wake_outbox=lambda: None)


def offer(name: str, price: int, capacity: int) -> Offer:
    return Offer(name, f"{name}-provider", "apple", (PriceTier(0, price),), 10, 0, capacity, unit="kg", window_id="w1")


def callback(db: Database, proc: Procurement, order_key: str, action: str, *, error: dict | None = None,
             order_id: str | None = None) -> None:
    """The producer's answer to the request an order is waiting on."""
    row = db.transaction(lambda c: c.execute(select(pool_orders).where(pool_orders.c.order_key == order_key)).mappings().one())
    order = {"id": order_id, "status": "ACTIVE"} if order_id else {}
    order["quote"] = {"price": {"currency": "CNY", "value": str(row["quantity"] * row["unit_price"] / 100)}}
    payload = {"context": {"message_id": row["message_id"], "transaction_id": row["transaction_id"],
                           "bpp_id": row["producer_id"], "action": action}, "message": {"order": order}}
    if error:
        payload["error"] = error
    db.transaction(lambda c: proc.on_callback(c, action, payload))


def orders_of(db: Database, pool_id: str) -> dict[str, dict]:
    rows = db.transaction(lambda c: c.execute(select(pool_orders).where(pool_orders.c.pool_id == pool_id)).mappings().all())
    return {r["producer_id"]: dict(r) for r in rows}


def sent(db: Database, action: str) -> list[dict]:
    rows = db.transaction(lambda c: c.execute(select(outbox.c.body, outbox.c.state).where(outbox.c.action == action)).all())
    return [{**json.loads(body), "state": state} for body, state in rows]


def test_when_a_refused_share_cannot_be_re_bought_confirmed_orders_are_cancelled(store):
    now = time.time()
    pool_id = closed_pool(store, 18, now)
    offers = [offer("hill", 800, 100), offer("valley", 850, 100), offer("ridge", 900, 50)]
    proc = procurement(offers)
    assert store.transaction(lambda c: proc.procure(c, pool_id, URLS)) == "ordering"
    orders = orders_of(store, pool_id)
    assert {p: o["quantity"] for p, o in orders.items()} == {"hill": 100, "valley": 80}
    for action in ("on_select", "on_init", "on_confirm"):
        callback(store, proc, orders["hill"]["order_key"], action, order_id="H1" if action == "on_confirm" else None)
    assert orders_of(store, pool_id)["hill"]["stage"] == "confirmed"
    callback(store, proc, orders["valley"]["order_key"], "on_select", error={"code": "40002", "message": "sold out"})
    assert orders_of(store, pool_id)["valley"]["stage"] == "refused"
    assert store.transaction(lambda c: proc.procure(c, pool_id, URLS)) == "unsourced"

    pool = store.transaction(lambda c: c.execute(select(pools).where(pools.c.pool_id == pool_id)).mappings().one())
    assert pool["procurement_note"].startswith("capacity: after valley failed, 80 steps were left to buy")
    assert orders_of(store, pool_id)["hill"]["stage"] == "cancelled"
    cancels = sent(store, "cancel")
    assert [c["message"]["order_id"] for c in cancels] == ["H1"]
    assert cancels[0]["context"]["bpp_id"] == "hill"


def test_a_request_not_yet_sent_is_abandoned_and_a_late_confirmation_is_cancelled(store):
    now = time.time()
    pool_id = closed_pool(store, 12, now)
    proc = procurement([offer("hill", 800, 60), offer("valley", 850, 60)])
    store.transaction(lambda c: proc.procure(c, pool_id, URLS))
    orders = orders_of(store, pool_id)
    callback(store, proc, orders["hill"]["order_key"], "on_select")
    callback(store, proc, orders["hill"]["order_key"], "on_init")  # hill's confirm is queued, not yet sent
    callback(store, proc, orders["valley"]["order_key"], "on_select", error={"code": "40002", "message": "sold out"})
    assert store.transaction(lambda c: proc.procure(c, pool_id, URLS)) == "unsourced"  # nobody else has apples
    assert orders_of(store, pool_id)["hill"]["stage"] == "cancelled"
    assert [c["state"] for c in sent(store, "confirm")] == ["abandoned"]  # the outbox will not send it
    # had the confirm left already, hill's on_confirm would now arrive: that order must not ship
    callback(store, proc, orders["hill"]["order_key"], "on_confirm", order_id="H9")
    assert [c["message"]["order_id"] for c in sent(store, "cancel")] == ["H9"]


def test_requests_unanswered_past_their_ttl_time_out_and_the_pool_is_re_sourced(store):
    now = time.time()
    pool_id = closed_pool(store, 6, now)
    proc = procurement([offer("hill", 800, 100), offer("ridge", 900, 100)])
    store.transaction(lambda c: proc.procure(c, pool_id, URLS))
    assert store.transaction(lambda c: proc.expire(c, now=time.time() + 1)) == 0
    assert store.transaction(lambda c: proc.expire(c, now=time.time() + 60)) == 1
    assert orders_of(store, pool_id)["hill"]["stage"] == "timed_out"
    assert store.transaction(lambda c: proc.procure(c, pool_id, URLS)) == "ordering"
    assert orders_of(store, pool_id)["ridge"]["quantity"] == 60


def test_a_quote_above_the_catalog_price_is_refused_and_re_sourced(store):
    now = time.time()
    pool_id = closed_pool(store, 6, now)
    proc = procurement([offer("hill", 800, 100), offer("ridge", 900, 100)])
    store.transaction(lambda c: proc.procure(c, pool_id, URLS))
    hill = orders_of(store, pool_id)["hill"]
    row = store.transaction(lambda c: c.execute(select(pool_orders).where(pool_orders.c.order_key == hill["order_key"])).mappings().one())
    payload = {"context": {"message_id": row["message_id"], "bpp_id": "hill"},
               "message": {"order": {"quote": {"price": {"currency": "CNY", "value": "999.00"}}}}}
    store.transaction(lambda c: proc.on_callback(c, "on_select", payload))
    hill = orders_of(store, pool_id)["hill"]
    assert hill["stage"] == "refused" and "quoted 999.00" in hill["reason"]
    assert store.transaction(lambda c: proc.procure(c, pool_id, URLS)) == "ordering"
    assert orders_of(store, pool_id)["ridge"]["quantity"] == 60
