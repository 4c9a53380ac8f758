"""What the producer's console reads of its sold orders: each order as lines, window and delivery place, and
the packing lists that group them by delivery window and place.

Read only: orders change through ``ProducerService.advance_order``. A pool's order says where it is delivered
(the organiser's pickup points, as its fulfilment's stops), not how much goes to each point, so a packing list is
per window and per the places an order names together.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from yuantou.domain.fulfilment import moves_from
from yuantou.protocol.envelope import fulfillment_state, timestamp_or_none
from yuantou.protocol.profile import pool_of
from yuantou.store.tables import orders

TO_PACK = ("Pending", "Accepted", "Packed")  # sold, not yet on its way
ORDERS_SHOWN = 200


@dataclass(frozen=True, slots=True)
class SoldLine:
    item_id: str
    name: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    currency: str

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


@dataclass(frozen=True, slots=True)
class SoldOrder:
    order_id: str
    buyer: str  # the buyer node's subscriber id
    status: str  # ACTIVE, COMPLETE or CANCELLED
    state: str  # the fulfilment state: Pending … Delivered, Refused or Cancelled
    lines: tuple[SoldLine, ...]
    window_id: str
    window_start: float | None  # epoch seconds
    window_end: float | None
    places: tuple[str, ...]  # where it is delivered (a pool's pickup points), as the buyer named them
    pool_id: str
    households: str
    reason: str  # why it was refused or cancelled
    created_at: float
    updated_at: float

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))

    @property
    def currency(self) -> str:
        return self.lines[0].currency if self.lines else "CNY"

    @property
    def moves(self) -> tuple[str, ...]:
        """What the producer may do with it next (``domain.fulfilment``)."""
        return moves_from(self.state) if self.status == "ACTIVE" else ()


@dataclass(frozen=True, slots=True)
class PackingList:
    """What to pack for one delivery window and one delivery place: each item's total, and the orders in it."""

    window_id: str
    window_start: float | None
    window_end: float | None
    places: tuple[str, ...]
    totals: tuple[tuple[str, str, Decimal, str], ...]  # item id, name, quantity, unit
    orders: tuple[SoldOrder, ...]


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


def sold_order(row: Any, body: dict[str, Any]) -> SoldOrder:
    """One stored sell order as the console shows it (the body is this node's own ``on_confirm`` answer)."""
    lines = []
    for item in body.get("items") or []:
        measure = ((item.get("quantity") or {}).get("selected") or {}).get("measure") or {}
        price = item.get("price") or {}
        lines.append(SoldLine(str(item.get("id", "")), str((item.get("descriptor") or {}).get("name") or ""),
                              _decimal(measure.get("value")), str(measure.get("unit") or ""),
                              _decimal(price.get("value")), str(price.get("currency") or "CNY")))
    fulfillment = (body.get("fulfillments") or [{}])[0]
    stops = fulfillment.get("stops") or []
    span = next(((s.get("time") or {}).get("range") or {} for s in stops if s.get("time")), {})
    places = tuple(sorted({str(((s.get("location") or {}).get("descriptor") or {}).get("name") or "")
                           for s in stops if s.get("location")} - {""}))
    pool = pool_of(body)
    reason = (((body.get("cancellation") or {}).get("reason") or {}).get("descriptor") or {}).get("name") or ""
    return SoldOrder(order_id=row["order_id"], buyer=row["counterparty_id"], status=row["status"],
                     state=fulfillment_state(body) or "Pending", lines=tuple(lines),
                     window_id=str(fulfillment.get("id") or ""), window_start=timestamp_or_none(span.get("start")),
                     window_end=timestamp_or_none(span.get("end")), places=places, pool_id=pool.get("pool_id", ""),
                     households=pool.get("households", ""), reason=str(reason), created_at=row["created_at"],
                     updated_at=row["updated_at"])


def sold_orders(conn: Connection, open_only: bool = False, limit: int = ORDERS_SHOWN) -> list[SoldOrder]:
    """The latest sell orders (only those still moving with ``open_only``), newest first."""
    query = select(orders).where(orders.c.side == "sell")
    if open_only:
        query = query.where(orders.c.status == "ACTIVE")
    rows = conn.execute(query.order_by(orders.c.created_at.desc()).limit(limit)).mappings().all()
    return [sold_order(r, json.loads(r["body"])) for r in rows]


def find_order(conn: Connection, order_id: str) -> SoldOrder | None:
    row = conn.execute(select(orders).where(orders.c.side == "sell", orders.c.order_id == order_id)).mappings().first()
    return sold_order(row, json.loads(row["body"])) if row else None


def packing_lists(sold: list[SoldOrder]) -> list[PackingList]:
    """Orders still to ship, grouped by delivery window and delivery place, earliest window first."""
    groups: dict[tuple[str, tuple[str, ...]], list[SoldOrder]] = defaultdict(list)
    for order in sold:
        if order.status == "ACTIVE" and order.state in TO_PACK:
            groups[(order.window_id, order.places)].append(order)
    out = []
    for (window_id, places), members in groups.items():
        totals: dict[str, tuple[str, Decimal, str]] = {}
        for order in members:
            for line in order.lines:
                name, quantity, unit = totals.get(line.item_id, (line.name, Decimal(0), line.unit))
                totals[line.item_id] = (name, quantity + line.quantity, unit)
        first = members[0]
        out.append(PackingList(window_id, first.window_start, first.window_end, places,
                               tuple((item, *rest) for item, rest in sorted(totals.items())),
                               tuple(sorted(members, key=lambda o: (o.buyer, o.created_at)))))
    return sorted(out, key=lambda p: (p.window_start or 0, p.window_id, p.places))
