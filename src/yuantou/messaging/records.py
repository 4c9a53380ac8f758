"""What a node's message store says, read back for its API and dashboard: callbacks received, orders on
either side, the outbox, and counts of each."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yuantou.protocol.envelope import fulfillment_state
from yuantou.store.tables import inbox, orders, outbox


def callbacks(conn: Connection, **where: str) -> list[dict]:
    """Callbacks received *and applied* (so an order seen here is already in the orders table)."""
    query = select(inbox).where(inbox.c.action.like("on\\_%", escape="\\"), inbox.c.processed_at.is_not(None))
    for column, value in where.items():
        query = query.where(getattr(inbox.c, column) == value)
    rows = conn.execute(query.order_by(inbox.c.id)).mappings().all()
    return [{"action": r["action"], "from": r["sender_id"], "message_id": r["message_id"],
             "received_at": r["received_at"], "payload": json.loads(r["body"])} for r in rows]


def orders_on_side(conn: Connection, side: str) -> list[dict]:
    rows = conn.execute(select(orders).where(orders.c.side == side).order_by(orders.c.created_at)).mappings().all()
    return [{"order_id": r["order_id"], "transaction_id": r["transaction_id"], "counterparty": r["counterparty_id"],
             "status": r["status"], "order": json.loads(r["body"])} for r in rows]


def message_counts(conn: Connection) -> dict:
    def counts(column, table, key) -> dict:  # noqa: ANN001
        return {k: n for k, n in conn.execute(select(column, func.count()).select_from(table).group_by(column))}
    return {
        "inbox": counts(inbox.c.action, inbox, "action"),
        "outbox": counts(outbox.c.state, outbox, "state"),
        "orders": {f"{side}:{status}": n for side, status, n in conn.execute(
            select(orders.c.side, orders.c.status, func.count()).group_by(orders.c.side, orders.c.status))},
    }


def selected_quantity(item: dict[str, Any]) -> str:
    """An order line's quantity as Beckn carries it: a count, or a measure with its unit."""
    selected = (item.get("quantity") or {}).get("selected") or {}
    if selected.get("count") is not None:
        return str(selected["count"])
    measure = selected.get("measure") or {}
    return f"{measure.get('value', '?')} {measure.get('unit', '')}".strip()


def order_lines(order: dict[str, Any]) -> str:
    return ", ".join(f"{selected_quantity(i)} × {i.get('id')}" for i in order.get("items") or [])


def order_row(row: Any, order: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": row["order_id"], "counterparty": row["counterparty_id"], "status": row["status"],
            "fulfillment": fulfillment_state(order) or "—", "lines": order_lines(order), "updated_at": row["updated_at"]}


def latest_orders(conn: Connection, side: str, limit: int) -> list[tuple[Any, dict[str, Any]]]:
    rows = conn.execute(select(orders).where(orders.c.side == side).order_by(orders.c.updated_at.desc())
                        .limit(limit)).mappings().all()
    return [(r, json.loads(r["body"])) for r in rows]


def order_rows(conn: Connection, side: str, limit: int = 12) -> dict[str, Any]:
    """The latest orders on one side, and how many there are in each state."""
    counts = {status: n for status, n in conn.execute(
        select(orders.c.status, func.count()).where(orders.c.side == side).group_by(orders.c.status))}
    out = []
    for r, order in latest_orders(conn, side, limit):
        price = ((order.get("quote") or {}).get("price") or {})
        out.append({**order_row(r, order), "total": f"{price.get('value', '—')} {price.get('currency', '')}".strip()})
    return {"counts": counts, "rows": out, "total": sum(counts.values())}


def sent_rows(conn: Connection, limit: int = 12) -> dict[str, Any]:
    """The outbox: what this node sent lately, whether the peer ACKed, and why not."""
    counts = {state: n for state, n in conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))}
    rows = conn.execute(select(outbox.c.action, outbox.c.counterparty_id, outbox.c.target_url, outbox.c.state,
                               outbox.c.attempts, outbox.c.created_at, outbox.c.delivered_at, outbox.c.last_error)
                        .order_by(outbox.c.id.desc()).limit(limit)).mappings().all()
    return {"counts": counts, "rows": [dict(r) for r in rows]}
