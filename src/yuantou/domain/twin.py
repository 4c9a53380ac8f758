"""The capacity twin: a producer's means of production, digitized, in one consistent value.

Resources (lines, fields, crews) have a capacity per day from a calendar; products say
which resources can make them and at what rate, what they cost, how much of the input
comes out good (yield), how long they take (lead time) and keep (shelf life); stock lots
carry their expiry; lanes say what delivering to a pickup region costs and takes. The
planner reads only this and the demand, so a twin that validates is a plan that builds.
Periods are days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


class TwinError(ValueError):
    """A twin that cannot be right: the message says where (file, row or path, field) and what is wrong."""


@dataclass(frozen=True)
class Resource:
    id: str
    name: str
    capacity: float  # per day, in ``unit``, unless the week or the calendar says otherwise
    unit: str = "h"
    weekly: tuple[float, ...] | None = None  # Monday..Sunday, overriding ``capacity``
    calendar: dict[date, float] = field(default_factory=dict)  # single days (holidays, maintenance), overriding both

    def capacity_on(self, day: date) -> float:
        if day in self.calendar:
            return self.calendar[day]
        if self.weekly is not None:
            return self.weekly[day.weekday()]
        return self.capacity


@dataclass(frozen=True)
class Routing:
    """A resource that can make a product: ``use`` resource units per unit started."""

    resource: str
    use: float
    setup_time: float = 0.0  # resource units lost when a batch is set up on a day


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    unit: str
    price: float  # what a unit sells for where no order says otherwise (forecast demand)
    unit_cost: float  # per unit started
    routings: tuple[Routing, ...]
    setup_cost: float = 0.0  # per batch: a day's run of the product on one resource
    min_batch: float = 0.0  # a batch starts at least this many units, or none
    yield_: float = 1.0  # good units out per unit started
    lead_time: int = 0  # days from start until the output can ship
    shelf_life: int | None = None  # days the output can ship, from the day it is ready; None keeps
    holding_cost: float = 0.0  # per unit per day in stock
    disposal_cost: float = 0.0  # per unit that expires

    @property
    def needs_setup(self) -> bool:
        return self.setup_cost > 0 or self.min_batch > 0 or any(r.setup_time > 0 for r in self.routings)


@dataclass(frozen=True)
class StockLot:
    id: str
    product: str
    quantity: float
    expires: date | None = None  # last day the lot can ship


@dataclass(frozen=True)
class Lane:
    """Delivery to a pickup region: what a unit costs and how many days it travels."""

    region: str
    cost_per_unit: float
    days: int = 0
    capacity: float | None = None  # units that can leave per day


@dataclass(frozen=True)
class Twin:
    resources: tuple[Resource, ...] = ()
    products: tuple[Product, ...] = ()
    stock: tuple[StockLot, ...] = ()
    lanes: tuple[Lane, ...] = ()

    def __post_init__(self) -> None:
        for problem in self.problems():
            raise TwinError(problem)

    def problems(self) -> list[str]:
        """References that do not resolve and ids used twice; empty when the twin is consistent."""
        out = []
        for kind, ids in (("resource", [r.id for r in self.resources]), ("product", [p.id for p in self.products]),
                          ("stock lot", [s.id for s in self.stock]), ("lane", [lane.region for lane in self.lanes])):
            seen: set[str] = set()
            for key in ids:
                if key in seen:
                    out.append(f"{kind} {key!r} is defined twice")
                seen.add(key)
        resources = {r.id for r in self.resources}
        products = {p.id for p in self.products}
        for i, p in enumerate(self.products):
            if not p.routings:
                out.append(f"products[{i}] ({p.id}): no resource can make it (routings is empty)")
            used = set()
            for j, r in enumerate(p.routings):
                if r.resource not in resources:
                    out.append(f"products[{i}].routings[{j}].resource: unknown resource {r.resource!r}")
                if r.resource in used:
                    out.append(f"products[{i}].routings[{j}].resource: {r.resource!r} listed twice for {p.id!r}")
                used.add(r.resource)
        for i, lot in enumerate(self.stock):
            if lot.product not in products:
                out.append(f"stock[{i}].product: unknown product {lot.product!r}")
        return out

    def resource(self, resource_id: str) -> Resource:
        return next(r for r in self.resources if r.id == resource_id)

    def product(self, product_id: str) -> Product:
        return next(p for p in self.products if p.id == product_id)


@dataclass(frozen=True)
class ConfirmedOrder:
    """Demand the plan must meet: a confirmed order line, due at the region on ``due``."""

    id: str
    product: str
    region: str
    due: date
    quantity: float
    price: float  # per unit, as agreed


@dataclass(frozen=True)
class ForecastDemand:
    """Demand the plan may meet: a forecast for one product, region and day, as quantiles.

    ``quantiles`` pairs a probability with the demand below which it falls that often
    (e.g. ``((0.1, 40), (0.5, 55), (0.9, 71))``); the plan turns them into expected sales."""

    product: str
    region: str
    day: date
    mean: float
    quantiles: tuple[tuple[float, float], ...] = ()
