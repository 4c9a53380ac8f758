"""What the organiser and households read once pools are bought: lines, pick lists, purchase lists.

Each household's line is derived, not stored twice: its allocated quantity and price
(from closing) plus the producer orders that supply it (``domain.procurement.split_supply``)
give its status — ordering, ordered, accepted, packed, shipped, delivered or unsourced.
A pick list per pickup point says who collects how much and from which producer; a
purchase list per producer says what was bought from it (以销定采: only what was sold).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from yuantou.buyer.pool_desk import terms_from_json
from yuantou.buyer.procurement import placed
from yuantou.domain.handout import HANDED_OUT
from yuantou.domain.pooling import MINOR_UNITS, PoolTerms, from_steps
from yuantou.domain.procurement import LIVE, Line, line_status, split_supply
from yuantou.store.tables import pool_intents, pool_orders, pools


def units(steps: int | None, step: Decimal) -> str | None:
    return None if steps is None else from_steps(steps, step)


def price(minor: int | Decimal | None) -> str | None:
    return None if minor is None else format((Decimal(minor) / MINOR_UNITS).quantize(Decimal("0.01")), "f")


def amount(steps: int | None, step: Decimal, unit_price: int | None) -> str | None:
    if steps is None or unit_price is None:
        return None
    return price((steps * step * unit_price).to_integral_value())


class PoolState:
    """One closed pool as read from the store: terms, allocated lines, orders, who supplies whom."""

    def __init__(self, conn: Connection, pool_id: str) -> None:
        row = conn.execute(select(pools).where(pools.c.pool_id == pool_id)).mappings().one()
        self.pool_id = pool_id
        self.terms: PoolTerms = terms_from_json(row["terms"])
        self.procurement: str | None = row["procurement"]
        self.note: str | None = row["procurement_note"]
        self.order_rows = list(conn.execute(select(pool_orders).where(pool_orders.c.pool_id == pool_id)
                                            .order_by(pool_orders.c.created_at)).mappings())
        self.orders = [placed(r) for r in self.order_rows]
        members = conn.execute(select(pool_intents).where(pool_intents.c.pool_id == pool_id,
                                                          pool_intents.c.status == "allocated")
                               .order_by(pool_intents.c.joined_at)).mappings().all()
        self.members = {m["intent_id"]: m for m in members}
        self.lines = [Line(m["intent_id"], m["household"], m["pickup_point"], m["quantity"]) for m in members]
        self.split = split_supply(self.lines, self.orders)

    def status_of(self, intent_id: str) -> str:
        member = self.members[intent_id]
        if member["handed_out_at"] is not None:
            return HANDED_OUT
        return line_status(self.procurement, self.split[intent_id], member["quantity"])

    def suppliers(self, intent_id: str) -> list[dict[str, Any]]:
        return [{"producer": o.producer_id, "quantity": units(q, self.terms.step), "order_key": o.key}
                for o, q in self.split[intent_id]]

    def order_view(self, row: Any) -> dict[str, Any]:
        step = self.terms.step
        return {"order_key": row["order_key"], "producer": row["producer_id"], "item_id": row["item_id"],
                "window_id": row["window_id"], "quantity": units(row["quantity"], step), "unit": self.terms.unit,
                "unit_price": price(row["unit_price"]), "landed_cost": price(Decimal(row["cost"])),
                "quoted": row["quoted"] if row["quoted"] not in (None, "None") else None,
                "stage": row["stage"], "order_id": row["order_id"], "order_status": row["order_status"],
                "fulfillment": row["fulfillment"], "reason": row["reason"], "transaction_id": row["transaction_id"],
                "currency": self.terms.currency}


def procurement_view(conn: Connection, pool_id: str) -> dict[str, Any]:
    state = PoolState(conn, pool_id)
    return {"state": state.procurement, "note": state.note, "orders": [state.order_view(r) for r in state.order_rows]}


def household_lines(conn: Connection, household: str) -> list[dict[str, Any]]:
    """A household's own lines: what it asked, what it got, at what price, where, and how far along."""
    rows = conn.execute(select(pool_intents, pools.c.terms, pools.c.closed_at, pools.c.outcome)
                        .join(pools, pools.c.pool_id == pool_intents.c.pool_id)
                        .where(pool_intents.c.household == household).order_by(pool_intents.c.joined_at)).mappings()
    states: dict[str, PoolState] = {}
    out = []
    for r in rows:
        terms = terms_from_json(r["terms"])
        line = {"intent_id": r["intent_id"], "pool_id": r["pool_id"], "status": r["status"],
                "pickup_point": r["pickup_point"], "unit": terms.unit,
                "asked": [units(r["min_quantity"], terms.step), units(r["max_quantity"], terms.step)],
                "quantity": units(r["quantity"], terms.step), "unit_price": price(r["unit_price"]),
                "amount": amount(r["quantity"], terms.step, r["unit_price"]), "currency": terms.currency,
                "pickup_code": r["pickup_code"], "suppliers": [], "household": household,
                "item": terms.spec.item_id or terms.spec.category, "pickup_window": list(terms.window),
                "allocated_at": r["closed_at"] if r["status"] == "allocated" else None}
        if r["status"] == "allocated":
            state = states.get(r["pool_id"]) or states.setdefault(r["pool_id"], PoolState(conn, r["pool_id"]))
            line["status"] = state.status_of(r["intent_id"])
            line["suppliers"] = state.suppliers(r["intent_id"])
            if line["status"] == "unsourced":
                line.update(amount=None, note=state.note)  # nothing is charged for a pool not bought
        elif r["status"] == "failed" and r["outcome"]:
            line["failure"] = json.loads(r["outcome"]).get("code")  # why the pool was not bought: empty, below_moq…
        out.append(line)
    return out


BOUGHT = ("ordering", "ordered")  # procurement states of a pool whose orders are placed or being placed


def _bought_pools(conn: Connection) -> list[str]:
    return list(conn.execute(select(pools.c.pool_id).where(pools.c.procurement.in_(BOUGHT))
                             .order_by(pools.c.closed_at)).scalars())


def pool_pick_lists(state: PoolState, pickup_point: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """One bought pool's share of the pick lists: per pickup point, each household's line to hand over."""
    lists: dict[str, list[dict[str, Any]]] = {}
    for line in state.lines:
        if pickup_point is not None and line.pickup_point != pickup_point:
            continue
        member = state.members[line.intent_id]
        lists.setdefault(line.pickup_point, []).append({
            "pool_id": state.pool_id, "household": line.household, "intent_id": line.intent_id,
            "item": state.terms.spec.item_id or state.terms.spec.category,
            "quantity": units(line.quantity, state.terms.step), "unit": state.terms.unit,
            "amount": amount(line.quantity, state.terms.step, member["unit_price"]), "currency": state.terms.currency,
            "status": state.status_of(line.intent_id), "from": state.suppliers(line.intent_id)})
    return lists


def pool_purchase_lists(state: PoolState, producer: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """One bought pool's share of the purchase lists: per producer, its live orders and where each goes."""
    per_point: dict[str, dict[str, int]] = {}
    for line in state.lines:
        for order, quantity in state.split[line.intent_id]:
            points = per_point.setdefault(order.key, {})
            points[line.pickup_point] = points.get(line.pickup_point, 0) + quantity
    lists: dict[str, list[dict[str, Any]]] = {}
    for row in state.order_rows:
        if row["stage"] not in LIVE or (producer is not None and row["producer_id"] != producer):
            continue
        view = state.order_view(row)
        view.update(pool_id=state.pool_id, deliver_to={p: units(q, state.terms.step)
                                                       for p, q in sorted(per_point.get(row["order_key"], {}).items())})
        lists.setdefault(row["producer_id"], []).append(view)
    return lists


def merged(parts: Iterable[dict[str, list[dict[str, Any]]]]) -> dict[str, list[dict[str, Any]]]:
    """Pools' shares of pick or purchase lists as one list per key, pool after pool."""
    lists: dict[str, list[dict[str, Any]]] = {}
    for part in parts:
        for key, rows in part.items():
            lists.setdefault(key, []).extend(rows)
    return lists


def pick_lists(conn: Connection, pickup_point: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per pickup point: each household's line to hand over, and which producer's delivery it comes from."""
    return merged(pool_pick_lists(PoolState(conn, pool_id), pickup_point) for pool_id in _bought_pools(conn))


def purchase_lists(conn: Connection, producer: str | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per producer: the live orders placed with it for pools, with the quantity per pickup point."""
    return merged(pool_purchase_lists(PoolState(conn, pool_id), producer) for pool_id in _bought_pools(conn))
