"""A producer's catalog and the rules for quoting and reserving against it (pure).

An item is sold in a unit (kg, crate, piece) at a unit price, and can be delivered
in fulfillment windows, each with its own remaining capacity. A line asks for a
quantity of an item in one window; it can be quoted only if the item exists, the
window is open (not already ended) and the window has enough capacity left.

Sales terms for pooled buying are optional per item: a bulk unit (only whole
multiples are sold), a minimum order quantity, all-units price tiers (from a quantity
up, every unit costs the tier's price) and a delivery charge to a pickup point (fixed
per shipment plus a rate per unit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal


class CatalogProblem(ValueError):
    """A business refusal: ``kind`` is one of unknown_item, unknown_window, closed_window, over_capacity,
    bad_quantity, not_bulk_multiple, below_moq."""

    def __init__(self, kind: str, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.path = kind, message, path


@dataclass(frozen=True)
class Window:
    id: str
    start: str  # RFC 3339
    end: str
    capacity: float

    def is_closed(self, now: float) -> bool:
        return datetime.fromisoformat(self.end.replace("Z", "+00:00")).timestamp() <= now


@dataclass(frozen=True)
class CatalogItem:
    id: str
    name: str
    unit: str
    price: Decimal
    currency: str = "CNY"  # where most producers on the network sell; a catalog names its own
    category: str = ""
    windows: tuple[Window, ...] = field(default_factory=tuple)
    grade: str = ""
    bulk_unit: Decimal | None = None
    moq: Decimal = Decimal(0)
    tiers: tuple[tuple[Decimal, Decimal], ...] = ()  # (from quantity, unit price), rising quantities, falling prices
    delivery_fixed: Decimal = Decimal(0)
    delivery_per_unit: Decimal = Decimal(0)

    def price_for(self, quantity: Decimal) -> Decimal:
        """The unit price a line of ``quantity`` pays: the highest tier it reaches, else the list price."""
        price = self.price
        for minimum, tier_price in self.tiers:
            if quantity >= minimum:
                price = tier_price
        return price

    def window(self, window_id: str | None) -> Window | None:
        if window_id is None:
            return self.windows[0] if self.windows else None
        return next((w for w in self.windows if w.id == window_id), None)


@dataclass(frozen=True)
class Line:
    item_id: str
    quantity: Decimal
    window_id: str | None = None


@dataclass(frozen=True)
class QuotedLine:
    item: CatalogItem
    window: Window
    quantity: Decimal

    @property
    def unit_price(self) -> Decimal:
        return self.item.price_for(self.quantity)

    @property
    def amount(self) -> Decimal:
        return money(self.unit_price * self.quantity)


def money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def quote_lines(catalog: dict[str, CatalogItem], lines: list[Line], now: float) -> list[QuotedLine]:
    """Quote every line or raise the first ``CatalogProblem`` (with the JSON path of the line)."""
    quoted: list[QuotedLine] = []
    wanted: dict[tuple[str, str], Decimal] = {}
    for i, line in enumerate(lines):
        path = f"$.message.order.items[{i}]"
        item = catalog.get(line.item_id)
        if item is None:
            raise CatalogProblem("unknown_item", f"item {line.item_id!r} is not in this catalog", path + ".id")
        if not line.quantity.is_finite() or line.quantity <= 0:
            raise CatalogProblem("bad_quantity", f"quantity of {line.item_id!r} must be positive", path + ".quantity")
        if item.bulk_unit and line.quantity % item.bulk_unit:
            raise CatalogProblem("not_bulk_multiple", f"{item.id!r} is sold in whole {item.bulk_unit} {item.unit} units, "
                                 f"not {line.quantity}", path + ".quantity.selected")
        if line.quantity < item.moq:
            raise CatalogProblem("below_moq", f"{item.id!r} has a minimum order of {item.moq} {item.unit}",
                                 path + ".quantity.selected")
        window = item.window(line.window_id)
        if window is None:
            raise CatalogProblem(
                "unknown_window", f"item {line.item_id!r} has no fulfillment window {line.window_id!r}",
                path + ".fulfillment_ids",
            )
        if window.is_closed(now):
            raise CatalogProblem("closed_window", f"fulfillment window {window.id!r} has closed", path + ".fulfillment_ids")
        key = (item.id, window.id)
        wanted[key] = wanted.get(key, Decimal(0)) + line.quantity
        if wanted[key] > Decimal(str(window.capacity)):
            raise CatalogProblem(
                "over_capacity",
                f"{item.id!r} in window {window.id!r}: {wanted[key]} {item.unit} asked, {window.capacity:g} available",
                path + ".quantity.selected",
            )
        quoted.append(QuotedLine(item, window, line.quantity))
    return quoted


def total(lines: list[QuotedLine]) -> Decimal:
    return money(sum((line.amount for line in lines), Decimal(0)))
