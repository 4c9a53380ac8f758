"""How a buyer node shows its pools: in the pool's units and currency, as people read them."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from yuantou.buyer.pool_desk import terms_from_json
from yuantou.buyer.pool_lists import price, procurement_view, units
from yuantou.domain.pooling import Pool, PoolTerms
from yuantou.store.tables import pool_intents, pools


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


def pool_views(conn: Connection, status: str | None = None) -> list[dict[str, Any]]:
    query = select(pools.c.pool_id).order_by(pools.c.created_at)
    if status:
        query = query.where(pools.c.status == status)
    return [view for pid in conn.execute(query).scalars() if (view := pool_view(conn, pid)) is not None]
