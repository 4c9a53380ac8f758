"""A buyer node buys each allocated pool from producers, point to point, and keeps at it until it is bought.

When a pool closes with an allocation its ``procurement`` becomes *pending*. A round of
this loop sources what is still to buy (``domain.procurement``) from the producers'
catalogs and queues a ``select`` to each chosen producer; each callback moves that
order on (``on_select`` → ``init``, ``on_init`` → ``confirm``, ``on_confirm`` →
confirmed) inside the transaction that processes the callback. A refusal, a NACK, a
``ttl`` run out without an answer, or a producer cancelling later marks the order failed
and the pool *pending* again, so the next round re-sources that share from the next
best producer. Every step is a committed row, so a restart at any moment resumes.

The pool rides along in each order as the ``yuantou.pool`` tag group (the Yuantou
pooling profile): core 1.1.1 peers can ignore it, Yuantou producers see the pools
aimed at them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from yuantou.buyer.orders import select_message
from yuantou.buyer.pool_desk import terms_from_json
from yuantou.domain.pooling import MINOR_UNITS, PoolTerms, ProductSpec, from_steps
from yuantou.domain.procurement import AWAITING, LIVE, PlacedOrder, is_bought, less_ordered_elsewhere, next_purchases
from yuantou.domain.sourcing import Offer, Purchase, SourcingFailure
from yuantou.plan.sourcing import source
from yuantou.protocol.envelope import expiry
from yuantou.protocol.profile import pool_tags
from yuantou.protocol.registry_client import RegistryClient
from yuantou.store.tables import outbox, pool_orders, pools

log = logging.getLogger(__name__)
NEXT_REQUEST = {"on_select": "init", "on_init": "confirm", "on_confirm": None}
OffersFor = Callable[[ProductSpec, tuple[float, float], Decimal], list[Offer]]
QueueRequest = Callable[..., dict]  # (conn, action, message, *, transaction_id, bpp_id, bpp_uri) -> context


def placed(row: Any) -> PlacedOrder:
    return PlacedOrder(row["order_key"], row["producer_id"], row["item_id"], row["quantity"], row["stage"],
                       row["fulfillment"], row["updated_at"])


def order_message(row: Any, terms: PoolTerms, pool_id: str, outcome: dict[str, Any]) -> dict[str, Any]:
    """``message`` of the select and init for one producer's share of a pool."""
    stops = [{"type": "end", "location": {"descriptor": {"name": point}}} for point in sorted(terms.pickup_points)]
    message = select_message(row["provider_id"], [{"id": row["item_id"], "unit": terms.unit,
                                                   "quantity": from_steps(row["quantity"], terms.step)}],
                             row["window_id"], stops=stops)
    message["order"]["tags"] = pool_tags(pool_id, terms, outcome)
    return message


def _quoted_value(order: dict[str, Any]) -> Decimal | None:
    try:
        return Decimal(str(((order.get("quote") or {}).get("price") or {}).get("value")))
    except (InvalidOperation, TypeError, ValueError):
        return None


def _fulfillment(order: dict[str, Any]) -> str | None:
    for f in order.get("fulfillments") or []:
        code = ((f.get("state") or {}).get("descriptor") or {}).get("code")
        if code:
            return code
    return None


class Procurement:
    def __init__(self, offers_for: OffersFor, producer_ids: Callable[[], Iterable[str]], queue_request: QueueRequest,
                 registry: RegistryClient, wake_outbox: Callable[[], None], url_cache_seconds: float = 300) -> None:
        self.offers_for = offers_for
        self.wake_outbox = wake_outbox
        self.producer_ids = producer_ids
        self.queue_request = queue_request
        self.registry = registry
        self.url_cache_seconds = url_cache_seconds
        self._urls: dict[str, tuple[str | None, float]] = {}
        self.pending = True  # set from the database thread when a pool needs another round

    # -- the loop -------------------------------------------------------------------------

    async def run(self, db: Any, every: float = 0.2) -> None:  # db: yuantou.store.db.Database
        """Expire unanswered requests, then source every pending pool; the outbox sends what was queued."""
        idle = 0.0
        while True:
            try:
                if await db.run(self.expire):
                    self.pending = True
                if self.pending or idle >= 2.0:
                    self.pending = False
                    idle = 0.0
                    pool_ids = await db.run(self.pending_pools)
                    if pool_ids:
                        urls = await self._producer_urls()
                        for pool_id in pool_ids:
                            await db.run(lambda c, p=pool_id: self.procure(c, p, urls))
                        self.wake_outbox()
            except Exception:
                log.exception("procurement round failed; will retry")
                await asyncio.sleep(1)
            await asyncio.sleep(every)
            idle += every

    async def _producer_urls(self) -> dict[str, str]:
        """Where each producer we hold offers from can be reached, as the directory says (cached)."""
        now = time.time()
        for producer_id in set(self.producer_ids()):
            hit = self._urls.get(producer_id)
            if hit is None or hit[1] < now:
                entry = await self.registry.find(producer_id, "BPP")
                self._urls[producer_id] = (entry.url if entry else None, now + self.url_cache_seconds)
        return {pid: url for pid, (url, _) in self._urls.items() if url}

    @staticmethod
    def pending_pools(conn: Connection) -> list[str]:
        return list(conn.execute(select(pools.c.pool_id).where(pools.c.procurement == "pending")
                                 .order_by(pools.c.closed_at)).scalars())

    # -- sourcing a pool ---------------------------------------------------------------------

    def procure(self, conn: Connection, pool_id: str, urls: dict[str, str], now: float | None = None) -> str | None:
        """Order what a pending pool still needs; returns its new procurement state."""
        now = time.time() if now is None else now
        row = conn.execute(select(pools).where(pools.c.pool_id == pool_id).with_for_update()).mappings().first()
        if row is None or row["procurement"] != "pending":
            return None
        terms, outcome = terms_from_json(row["terms"]), json.loads(row["outcome"])
        rows = self._order_rows(conn, pool_id)
        orders = [placed(r) for r in rows]
        offers = [o for o in self.offers_for(terms.spec, terms.window, terms.step) if o.producer_id in urls]
        offers = less_ordered_elsewhere(offers, self._ordered_elsewhere(conn, pool_id, offers), terms.step)
        result = next_purchases(outcome["total"], orders, offers, terms.step, source)
        if isinstance(result, SourcingFailure):
            self._give_up(conn, pool_id, rows, f"{result.code}: {result.reason}", now)
            return "unsourced"
        for purchase in result.purchases:
            self._place(conn, pool_id, terms, outcome, purchase, urls[purchase.offer.producer_id], now)
        state = "ordered" if is_bought(outcome["total"], orders) else "ordering"
        conn.execute(update(pools).where(pools.c.pool_id == pool_id).values(procurement=state))
        return state

    def _place(self, conn: Connection, pool_id: str, terms: PoolTerms, outcome: dict, purchase: Purchase,
               bpp_uri: str, now: float) -> None:
        offer = purchase.offer
        row = {"order_key": "po-" + uuid.uuid4().hex[:16], "pool_id": pool_id, "producer_id": offer.producer_id,
               "bpp_uri": bpp_uri, "provider_id": offer.provider_id, "item_id": offer.item_id,
               "window_id": offer.window_id, "quantity": purchase.quantity, "unit_price": purchase.unit_price,
               "cost": str(purchase.cost), "stage": "select", "transaction_id": str(uuid.uuid4()),
               "created_at": now, "updated_at": now}
        context = self.queue_request(conn, "select", order_message(row, terms, pool_id, outcome),
                                     transaction_id=row["transaction_id"], bpp_id=offer.producer_id, bpp_uri=bpp_uri)
        conn.execute(pool_orders.insert().values(**row, message_id=context["message_id"], deadline=expiry(context)))

    def _give_up(self, conn: Connection, pool_id: str, rows: list[Any], reason: str, now: float) -> None:
        """No full sourcing exists: say why, and withdraw every order still live (all or nothing)."""
        for row in rows:
            if row["stage"] in LIVE:
                self._abandon(conn, row, "the pool could not be bought in full", now)
        conn.execute(update(pools).where(pools.c.pool_id == pool_id).values(
            procurement="unsourced", procurement_note=reason))
        log.warning("pool %s cannot be bought: %s", pool_id, reason)

    def _abandon(self, conn: Connection, row: Any, reason: str, now: float) -> None:
        if row["stage"] == "confirmed" and row["order_id"]:
            self.queue_request(conn, "cancel", {"order_id": row["order_id"], "descriptor": {"name": reason}},
                               transaction_id=row["transaction_id"], bpp_id=row["producer_id"], bpp_uri=row["bpp_uri"])
        elif row["message_id"]:  # not sent yet: don't
            conn.execute(update(outbox).where(outbox.c.message_id == row["message_id"], outbox.c.state == "pending")
                         .values(state="abandoned"))
        conn.execute(update(pool_orders).where(pool_orders.c.order_key == row["order_key"]).values(
            stage="cancelled", reason=reason, updated_at=now))

    @staticmethod
    def _ordered_elsewhere(conn: Connection, pool_id: str, offers: list[Offer]) -> dict[tuple[str, str, str], Decimal]:
        """Units the buyer's other pools have live with each offer's producer, item and window, ordered since the
        producer's catalog came (what the catalog's capacity does not know of yet)."""
        ordered: dict[tuple[str, str, str], Decimal] = {}
        steps: dict[str, Decimal] = {}
        for offer in offers:
            key = (offer.producer_id, offer.item_id, offer.window_id)
            rows = conn.execute(select(pool_orders.c.pool_id, pool_orders.c.quantity).where(
                pool_orders.c.producer_id == offer.producer_id, pool_orders.c.item_id == offer.item_id,
                pool_orders.c.window_id == offer.window_id, pool_orders.c.stage.in_(LIVE),
                pool_orders.c.pool_id != pool_id, pool_orders.c.created_at > offer.seen_at)).all()
            for other, quantity in rows:
                if other not in steps:
                    steps[other] = terms_from_json(conn.execute(select(pools.c.terms).where(
                        pools.c.pool_id == other)).scalar_one()).step
                ordered[key] = ordered.get(key, Decimal(0)) + quantity * steps[other]
        return ordered

    @staticmethod
    def _order_rows(conn: Connection, pool_id: str) -> list[Any]:
        return list(conn.execute(select(pool_orders).where(pool_orders.c.pool_id == pool_id)
                                 .order_by(pool_orders.c.created_at)).mappings())

    def _fail(self, conn: Connection, row: Any, stage: str, reason: str, now: float) -> None:
        """A producer did not deliver its share: mark it, and have the pool re-sourced."""
        conn.execute(update(pool_orders).where(pool_orders.c.order_key == row["order_key"]).values(
            stage=stage, reason=reason, message_id=None, deadline=None, updated_at=now))
        note = f"{row['producer_id']} {stage.replace('_', ' ')}: {reason}; re-sourcing"
        conn.execute(update(pools).where(pools.c.pool_id == row["pool_id"], pools.c.procurement.in_(("ordering", "ordered")))
                     .values(procurement="pending", procurement_note=note))
        log.info("pool %s: %s", row["pool_id"], note)
        self.pending = True

    def expire(self, conn: Connection, now: float | None = None) -> int:
        """Orders whose request was refused at the door (NACK, undeliverable) or went unanswered past its ttl."""
        now = time.time() if now is None else now
        waiting = conn.execute(select(pool_orders).where(pool_orders.c.stage.in_(AWAITING))).mappings().all()
        failed = 0
        for row in waiting:
            sent = conn.execute(select(outbox.c.state, outbox.c.last_error).where(
                outbox.c.message_id == row["message_id"], outbox.c.action == row["stage"])).first()
            if sent is not None and sent.state in ("nacked", "dead"):
                self._fail(conn, row, "refused", f"{row['stage']} was not accepted ({sent.last_error})", now)
            elif row["deadline"] is not None and row["deadline"] < now:
                self._fail(conn, row, "timed_out", f"no on_{row['stage']} within the request's ttl", now)
            else:
                continue
            failed += 1
        return failed

    # -- callbacks ---------------------------------------------------------------------------

    def on_callback(self, conn: Connection, action: str, payload: dict[str, Any], now: float | None = None) -> bool:
        """Move a pool order on by a producer's callback (in the callback's own transaction)."""
        now = time.time() if now is None else now
        context = payload.get("context") or {}
        order = ((payload.get("message") or {}).get("order")) or {}
        if action in NEXT_REQUEST:
            row = conn.execute(select(pool_orders).where(pool_orders.c.message_id == context.get("message_id"))
                               ).mappings().first()
            if row is None:
                return False
            if row["stage"] != action[3:]:
                if action == "on_confirm" and row["stage"] in ("timed_out", "cancelled") and not payload.get("error"):
                    self._cancel_late(conn, row, order, now)  # confirmed after we had moved on
                return True
            self._advance(conn, row, action, payload, order, now)
            return True
        if action in ("on_status", "on_cancel", "on_update") and order.get("id"):
            row = conn.execute(select(pool_orders).where(pool_orders.c.order_id == order["id"],
                                                         pool_orders.c.producer_id == context.get("bpp_id"))
                               ).mappings().first()
            if row is None:
                return False
            conn.execute(update(pool_orders).where(pool_orders.c.order_key == row["order_key"]).values(
                order_status=order.get("status"), fulfillment=_fulfillment(order) or row["fulfillment"], updated_at=now))
            if order.get("status") == "CANCELLED" and row["stage"] == "confirmed":
                self._fail(conn, row, "refused", "the producer cancelled the confirmed order", now)
            return True
        return False

    def _advance(self, conn: Connection, row: Any, action: str, payload: dict, order: dict, now: float) -> None:
        error = payload.get("error")
        if error:
            self._fail(conn, row, "refused", f"{error.get('code')} {error.get('message', '')}".strip(), now)
            return
        pool = conn.execute(select(pools.c.terms, pools.c.outcome).where(pools.c.pool_id == row["pool_id"])).one()
        terms, outcome = terms_from_json(pool.terms), json.loads(pool.outcome)
        if action == "on_select":
            quoted = _quoted_value(order)
            expected = Decimal(row["quantity"]) * terms.step * row["unit_price"] / MINOR_UNITS
            if quoted is None or quoted > expected:
                self._fail(conn, row, "refused", f"quoted {quoted} for what its catalog prices at {expected}", now)
                return
        values: dict[str, Any] = {"quoted": str(_quoted_value(order)), "updated_at": now}
        nxt = NEXT_REQUEST[action]
        if nxt is None:  # on_confirm: the producer holds the order now
            values.update(stage="confirmed", message_id=None, deadline=None, order_id=order.get("id"),
                          order_status=order.get("status"), fulfillment=_fulfillment(order))
            conn.execute(update(pool_orders).where(pool_orders.c.order_key == row["order_key"]).values(**values))
            self._settle(conn, row["pool_id"], outcome["total"])
            return
        message = order_message(row, terms, row["pool_id"], outcome) if nxt == "init" else \
            {"order": {**order, "tags": pool_tags(row["pool_id"], terms, outcome)}}
        context = self.queue_request(conn, nxt, message, transaction_id=row["transaction_id"],
                                     bpp_id=row["producer_id"], bpp_uri=row["bpp_uri"])
        values.update(stage=nxt, message_id=context["message_id"], deadline=expiry(context))
        conn.execute(update(pool_orders).where(pool_orders.c.order_key == row["order_key"]).values(**values))

    def _settle(self, conn: Connection, pool_id: str, total: int) -> None:
        orders = [placed(r) for r in self._order_rows(conn, pool_id)]
        if is_bought(total, orders):
            conn.execute(update(pools).where(pools.c.pool_id == pool_id, pools.c.procurement == "ordering")
                         .values(procurement="ordered"))

    def _cancel_late(self, conn: Connection, row: Any, order: dict, now: float) -> None:
        """A producer confirmed after we gave its share to someone else: cancel, so it does not ship."""
        if order.get("id"):
            self.queue_request(conn, "cancel", {"order_id": order["id"], "descriptor": {
                "name": "confirmation arrived after the pool had been re-sourced"}},
                transaction_id=row["transaction_id"], bpp_id=row["producer_id"], bpp_uri=row["bpp_uri"])
            conn.execute(update(pool_orders).where(pool_orders.c.order_key == row["order_key"]).values(
                order_id=order["id"], order_status="CANCELLED", updated_at=now))
