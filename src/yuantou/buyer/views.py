"""How a buyer node shows its pools: in the pool's units and currency, as people read them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from yuantou.buyer.pool_desk import terms_from_json
from yuantou.buyer.pool_lists import PoolState, price, procurement_view, units
from yuantou.domain.pooling import Pool, PoolTerms, from_steps
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


@dataclass(frozen=True)
class PoolSnapshot:
    """A pool at one moment, as a household's page shows it: its terms and running totals."""

    pool_id: str
    terms: PoolTerms
    status: str
    pooled: int  # steps: the members' minimums while open, the allocated total once closed
    households: int


def snapshot_of(pool: Pool) -> PoolSnapshot:
    return PoolSnapshot(pool.id, pool.terms, pool.status.value, pool.min_total, len(pool.households))


def stored_snapshot(conn: Connection, pool_id: str) -> PoolSnapshot | None:
    row = conn.execute(select(pools.c.terms, pools.c.status, pools.c.outcome).where(pools.c.pool_id == pool_id)).first()
    if row is None:
        return None
    members = conn.execute(select(pool_intents.c.household, pool_intents.c.min_quantity, pool_intents.c.quantity)
                           .where(pool_intents.c.pool_id == pool_id, pool_intents.c.status != "withdrawn")).all()
    outcome = json.loads(row.outcome) if row.outcome else None
    pooled = outcome["total"] if outcome and not outcome["failed"] else sum(m.min_quantity for m in members)
    return PoolSnapshot(pool_id, terms_from_json(row.terms), row.status, pooled, len({m.household for m in members}))


def open_lines_of(conn: Connection, household: str) -> dict[str, dict[str, Any]]:
    """A household's lines still open to change, by pool: what it asked, in the pool's units and currency."""
    rows = conn.execute(select(pool_intents.c.intent_id, pool_intents.c.pool_id, pool_intents.c.min_quantity,
                               pool_intents.c.max_quantity, pool_intents.c.max_price, pools.c.terms)
                        .join(pools, pools.c.pool_id == pool_intents.c.pool_id)
                        .where(pool_intents.c.household == household, pool_intents.c.status == "joined")).all()
    lines = {}
    for r in rows:
        terms = terms_from_json(r.terms)
        lines[r.pool_id] = {"intent_id": r.intent_id, "min": from_steps(r.min_quantity, terms.step),
                            "max": from_steps(r.max_quantity, terms.step), "max_price": price(r.max_price),
                            "unit": terms.unit, "currency": terms.currency}
    return lines


def pool_member_rows(conn: Connection, pool_id: str) -> list[dict[str, Any]]:
    """Each household's line in one pool, as the organiser reviews it: asked, got, status, pickup code."""
    row = conn.execute(select(pools.c.terms, pools.c.procurement).where(pools.c.pool_id == pool_id)).first()
    if row is None:
        return []
    terms = terms_from_json(row.terms)
    state = PoolState(conn, pool_id) if row.procurement else None
    members = conn.execute(select(pool_intents).where(pool_intents.c.pool_id == pool_id)
                           .order_by(pool_intents.c.joined_at)).mappings().all()
    return [{"intent_id": m["intent_id"], "household": m["household"], "pickup_point": m["pickup_point"],
             "asked": [units(m["min_quantity"], terms.step), units(m["max_quantity"], terms.step)],
             "quantity": units(m["quantity"], terms.step), "unit": terms.unit, "pickup_code": m["pickup_code"],
             "status": state.status_of(m["intent_id"]) if state and m["intent_id"] in state.members else m["status"]}
            for m in members]
