"""What a node's dashboard panels read from its store: one function per panel, each a plain query.

No HTTP and no templates here, so each view is tested against a real store alone.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from yuantou.protocol.profile import tag_values
from yuantou.producer import c2m
from yuantou.producer.catalog_store import read_catalog
from yuantou.node.api.pools import pool_view
from yuantou.buyer.pool_desk import terms_from_json
from yuantou.buyer.pool_lists import units
from yuantou.buyer.procurement import POOL_TAG
from yuantou.store.tables import orders, outbox, pool_intents, pools
from yuantou.web.bought_pools import BoughtPools


def _selected(item: dict[str, Any]) -> str:
    """An order line's quantity as Beckn carries it: a count, or a measure with its unit."""
    selected = (item.get("quantity") or {}).get("selected") or {}
    if selected.get("count") is not None:
        return str(selected["count"])
    measure = selected.get("measure") or {}
    return f"{measure.get('value', '?')} {measure.get('unit', '')}".strip()


def _lines(order: dict[str, Any]) -> str:
    return ", ".join(f"{_selected(i)} × {i.get('id')}" for i in order.get("items") or [])


def _order_row(row: Any, order: dict[str, Any]) -> dict[str, Any]:
    return {"order_id": row["order_id"], "counterparty": row["counterparty_id"], "status": row["status"],
            "fulfillment": c2m.fulfillment_state(order) or "—", "lines": _lines(order), "updated_at": row["updated_at"]}


def _latest_orders(conn: Connection, side: str, limit: int) -> list[tuple[Any, dict[str, Any]]]:
    rows = conn.execute(select(orders).where(orders.c.side == side).order_by(orders.c.updated_at.desc())
                        .limit(limit)).mappings().all()
    return [(r, json.loads(r["body"])) for r in rows]


def order_rows(conn: Connection, side: str, limit: int = 12) -> dict[str, Any]:
    """The latest orders on one side, and how many there are in each state."""
    counts = {status: n for status, n in conn.execute(
        select(orders.c.status, func.count()).where(orders.c.side == side).group_by(orders.c.status))}
    out = []
    for r, order in _latest_orders(conn, side, limit):
        price = ((order.get("quote") or {}).get("price") or {})
        out.append({**_order_row(r, order), "total": f"{price.get('value', '—')} {price.get('currency', '')}".strip()})
    return {"counts": counts, "rows": out, "total": sum(counts.values())}


def pool_order_rows(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    """Orders that buy a pool (their ``yuantou.pool`` tags), among the latest sales: which pool, how many
    households, where they collect, and how far the order has got — the pools aimed at this producer."""
    out = []
    for r, order in _latest_orders(conn, "sell", limit * 4):
        pool = tag_values(order, POOL_TAG)
        if pool.get("pool_id"):
            out.append({**_order_row(r, order), "pool_id": pool["pool_id"], "households": pool.get("households"),
                        "pooled": pool.get("pooled_quantity"), "pickup_points": pool.get("pickup_points", "")})
    return out[:limit]


def sent_rows(conn: Connection, limit: int = 12) -> dict[str, Any]:
    """The outbox: what this node sent lately, whether the peer ACKed, and why not."""
    counts = {state: n for state, n in conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state))}
    rows = conn.execute(select(outbox.c.action, outbox.c.counterparty_id, outbox.c.target_url, outbox.c.state,
                               outbox.c.attempts, outbox.c.created_at, outbox.c.delivered_at, outbox.c.last_error)
                        .order_by(outbox.c.id.desc()).limit(limit)).mappings().all()
    return {"counts": counts, "rows": [dict(r) for r in rows]}


def catalog_rows(conn: Connection) -> list[dict[str, Any]]:
    """Each item offered, with the capacity left in each delivery window."""
    out = []
    for item in read_catalog(conn).values():
        out.append({"id": item.id, "name": item.name, "unit": item.unit, "price": f"{item.price} {item.currency}",
                    "grade": item.grade, "moq": item.moq, "bulk_unit": item.bulk_unit,
                    "tiers": ", ".join(f"≥{q}: {p}" for q, p in item.tiers),
                    "windows": [{"id": w.id, "start": w.start, "available": w.capacity} for w in item.windows],
                    "capacity": sum(w.capacity for w in item.windows)})
    return out


def open_request_rows(conn: Connection) -> list[dict[str, Any]]:
    """Quotes buyers asked for (select/init, pools among them) that are not orders yet: demand on its way."""
    return [{"item": item, "buyer": buyer, "quantity": quantity, "day": day.isoformat()}
            for item, buyer, quantity, day in c2m.open_requests(conn)]


def forecast_data(conn: Connection, today: date) -> dict[str, Any]:
    """The latest forecast run and the daily history behind each of its series (up to the day it forecast
    from; without a run, up to today), biggest series first."""
    run = c2m.latest_run(conn, "forecast")
    start = (run or {}).get("summary", {}).get("from")
    values, first = c2m.demand_series(conn, date.fromisoformat(start) if start else today)
    history = {sid: np.asarray(v) for sid, v in values.items()}
    series = {s["id"]: s for s in (run or {}).get("series", [])}
    ids = sorted(set(series) | set(history), key=lambda sid: -float(history[sid].sum()) if sid in history else 0)
    return {"run": run, "ids": ids, "series": series, "history": history, "first": first}


def plan_data(conn: Connection) -> dict[str, Any] | None:
    return c2m.latest_run(conn, "plan")


def twin_stock(conn: Connection) -> list[Any]:
    twin = c2m.read_twin(conn)
    return list(twin.stock) if twin else []


def pool_rows(conn: Connection, closed_limit: int = 10) -> dict[str, Any]:
    """Open pools (with progress toward their minimum batch) and the latest closed ones."""
    open_ids = list(conn.execute(select(pools.c.pool_id).where(pools.c.status == "open").order_by(pools.c.cutoff))
                    .scalars())
    closed_ids = list(conn.execute(select(pools.c.pool_id).where(pools.c.status != "open")
                                   .order_by(pools.c.closed_at.desc()).limit(closed_limit)).scalars())
    cutoffs = dict(conn.execute(select(pools.c.pool_id, pools.c.cutoff)).all())

    def view(pool_id: str) -> dict[str, Any]:
        v = pool_view(conn, pool_id)
        item = v["product"]["item_id"] or v["product"]["category"] or "?"
        moq = float(v.get("moq") or 0)
        v.update(cutoff_at=cutoffs[pool_id], label=f"{item} · {pool_id[-6:]}",
                 progress=100.0 if moq == 0 else min(100.0, 100 * float(v["pooled_min"]) / moq))
        return v

    return {"open": [view(p) for p in open_ids], "closed": [view(p) for p in closed_ids]}


def intent_rows(conn: Connection, limit: int = 15) -> dict[str, Any]:
    """Households' latest intents and how many are in each state."""
    counts = {s: n for s, n in conn.execute(select(pool_intents.c.status, func.count())
                                            .group_by(pool_intents.c.status))}
    rows = conn.execute(select(pool_intents, pools.c.terms).join(pools, pools.c.pool_id == pool_intents.c.pool_id)
                        .order_by(pool_intents.c.updated_at.desc()).limit(limit)).mappings().all()
    out = []
    for r in rows:
        terms = terms_from_json(r["terms"])
        out.append({"household": r["household"], "pool_id": r["pool_id"], "status": r["status"],
                    "pickup_point": r["pickup_point"], "asked": f"{units(r['min_quantity'], terms.step)}–"
                                                                  f"{units(r['max_quantity'], terms.step)} {terms.unit}",
                    "allocated": units(r["quantity"], terms.step), "updated_at": r["updated_at"]})
    return {"counts": counts, "rows": out}


def purchase_rows(conn: Connection, bought: BoughtPools) -> dict[str, list[dict[str, Any]]]:
    """Purchase lists per producer, latest order first."""
    return {producer: list(reversed(rows)) for producer, rows in bought.purchase_lists(conn).items()}


def pick_rows(conn: Connection, bought: BoughtPools) -> dict[str, Any]:
    """What is still to hand out at each pickup point; lines already delivered are only counted."""
    pick, handed = {}, 0
    for point, rows in bought.pick_lists(conn).items():
        waiting = [r for r in rows if r["status"] != "delivered"]
        handed += len(rows) - len(waiting)
        if waiting:
            pick[point] = waiting
    return {"pick": pick, "handed_out": handed}
