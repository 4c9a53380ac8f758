"""What a buyer node does with callbacks, and how it builds its requests (the BAP side)."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from yuantou.store.tables import inbox, orders, outbox

log = logging.getLogger(__name__)

ORDER_CALLBACKS = ("on_confirm", "on_status", "on_cancel", "on_update")


def unsolicited_status_problem(conn: Connection, producer: str | None, transaction_id: str, message: Any) -> str | None:
    """Why an ``on_status`` nobody asked for may not be taken, or ``None``: it must come from the producer of an
    order this node placed, in that order's transaction, or at least in a transaction this node has with it."""
    order = (message or {}).get("order") if isinstance(message, dict) else None
    order_id = order.get("id") if isinstance(order, dict) else None
    if order_id:
        row = conn.execute(select(orders.c.side, orders.c.counterparty_id, orders.c.transaction_id)
                           .where(orders.c.order_id == order_id)).first()
        if row is not None:
            if row.side != "buy" or row.counterparty_id != producer:
                return f"order {order_id!r} is not an order this node placed with {producer!r}"
            if row.transaction_id != transaction_id:
                return f"order {order_id!r} belongs to another transaction"
            return None
    traded = conn.execute(select(outbox.c.id).where(outbox.c.transaction_id == transaction_id,
                                                    outbox.c.counterparty_id == producer).limit(1)).first()
    if traded is None:
        return f"this node has no transaction {transaction_id!r} with {producer!r}"
    return None


def record_callback(conn: Connection, action: str, payload: dict[str, Any]) -> None:
    """Keep the buyer's view of each order current from the producer's callbacks: an order is changed only by
    the producer it was placed with, in its own transaction (a colliding id of another's order is left alone)."""
    if action not in ORDER_CALLBACKS or payload.get("error"):
        return
    order = (payload.get("message") or {}).get("order") or {}
    order_id, status = order.get("id"), order.get("status")
    if not order_id or not status:
        return
    context = payload["context"]
    producer, transaction_id = context.get("bpp_id", ""), context["transaction_id"]
    now = time.time()
    existing = conn.execute(select(orders.c.side, orders.c.counterparty_id, orders.c.transaction_id)
                            .where(orders.c.order_id == order_id)).first()
    if existing is None:
        conn.execute(orders.insert().values(
            order_id=order_id, side="buy", transaction_id=transaction_id, counterparty_id=producer, status=status,
            body=json.dumps(order), created_at=now, updated_at=now,
        ))
    elif (existing.side, existing.counterparty_id, existing.transaction_id) == ("buy", producer, transaction_id):
        conn.execute(update(orders).where(orders.c.order_id == order_id).values(
            status=status, body=json.dumps(order), updated_at=now))
    else:
        log.warning("%s from %s names order %s, which is not its order in transaction %s: not applied",
                    action, producer, order_id, transaction_id)


def catalog_pieces(producer_id: str, catalog: dict[str, Any]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """One single-item catalog per (producer, provider, item): a later search for rice must not
    make us forget the same producer's apples."""
    pieces = {}
    for provider in catalog.get("providers") or []:
        for item in provider.get("items") or []:
            if item.get("id"):
                pieces[(producer_id, provider.get("id", ""), item["id"])] = {"providers": [{**provider, "items": [item]}]}
    return pieces


def latest_catalogs(conn: Connection) -> tuple[dict[tuple[str, str, str], dict[str, Any]],
                                                 dict[tuple[str, str, str], float]]:
    """The newest offer of every item each producer sent us (what pools open on after a restart), and when each
    arrived."""
    rows = conn.execute(select(inbox.c.sender_id, inbox.c.body, inbox.c.received_at).where(
        inbox.c.action == "on_search", inbox.c.processed_at.is_not(None)).order_by(inbox.c.id)).all()
    pieces: dict[tuple[str, str, str], dict[str, Any]] = {}
    seen: dict[tuple[str, str, str], float] = {}
    for sender, body, received_at in rows:
        payload = json.loads(body)
        catalog = (payload.get("message") or {}).get("catalog")
        if catalog and not payload.get("error"):
            fresh = catalog_pieces(sender, catalog)
            pieces.update(fresh)
            seen.update(dict.fromkeys(fresh, received_at))
    return pieces, seen


def select_message(provider_id: str, items: list[dict[str, Any]], window_id: str | None,
                   delivery_gps: str | None = None, stops: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``message`` of a select/init/confirm: items with quantities, one fulfillment window and its stops."""
    order: dict[str, Any] = {
        "provider": {"id": provider_id},
        "items": [
            {"id": it["id"], "quantity": {"selected": {"measure": {"unit": it.get("unit", "unit"), "value": str(it["quantity"])}}},
             **({"fulfillment_ids": [window_id]} if window_id else {})}
            for it in items
        ],
    }
    if window_id:
        fulfillment: dict[str, Any] = {"id": window_id, "type": "Delivery"}
        stops = list(stops or []) + ([{"type": "end", "location": {"gps": delivery_gps}}] if delivery_gps else [])
        if stops:
            fulfillment["stops"] = stops
        order["fulfillments"] = [fulfillment]
    return {"order": order}
