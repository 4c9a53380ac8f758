"""What a buyer node does with callbacks, and how it builds its requests (the BAP side)."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from yuantou.store.tables import orders

ORDER_CALLBACKS = ("on_confirm", "on_status", "on_cancel", "on_update")


def record_callback(conn: Connection, action: str, payload: dict[str, Any]) -> None:
    """Keep the buyer's view of each order current from the producer's callbacks."""
    if action not in ORDER_CALLBACKS or payload.get("error"):
        return
    order = (payload.get("message") or {}).get("order") or {}
    order_id, status = order.get("id"), order.get("status")
    if not order_id or not status:
        return
    context = payload["context"]
    now = time.time()
    existing = conn.execute(select(orders.c.order_id).where(orders.c.order_id == order_id)).first()
    if existing:
        conn.execute(update(orders).where(orders.c.order_id == order_id).values(
            status=status, body=json.dumps(order), updated_at=now))
    else:
        conn.execute(orders.insert().values(
            order_id=order_id, side="buy", transaction_id=context["transaction_id"],
            counterparty_id=context.get("bpp_id", ""), status=status, body=json.dumps(order),
            created_at=now, updated_at=now,
        ))


def select_message(provider_id: str, items: list[dict[str, Any]], window_id: str | None,
                   delivery_gps: str | None = None) -> dict[str, Any]:
    """``message`` of a select/init/confirm: items with quantities, one fulfillment window."""
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
        if delivery_gps:
            fulfillment["stops"] = [{"type": "end", "location": {"gps": delivery_gps}}]
        order["fulfillments"] = [fulfillment]
    return {"order": order}
