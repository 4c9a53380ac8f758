"""What the producer's dashboard panels read of its store: one function per panel, each a plain query."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from yuantou.messaging.records import latest_orders, order_row
from yuantou.producer import c2m
from yuantou.producer.catalog_store import read_catalog
from yuantou.protocol.profile import pool_of


def pool_order_rows(conn: Connection, limit: int = 10) -> list[dict[str, Any]]:
    """Orders that buy a pool (their ``yuantou.pool`` tags), among the latest sales: which pool, how many
    households, where they collect, and how far the order has got — the pools aimed at this producer."""
    out = []
    for r, order in latest_orders(conn, "sell", limit * 4):
        pool = pool_of(order)
        if pool.get("pool_id"):
            out.append({**order_row(r, order), "pool_id": pool["pool_id"], "households": pool.get("households"),
                        "pooled": pool.get("pooled_quantity"), "pickup_points": pool.get("pickup_points", "")})
    return out[:limit]


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
