"""Everything a person or a script asks of a buyer node, one typed command each.

The JSON API, the CLI and the consoles build these and hand them to ``BuyerService``; none of them
holds a rule of its own. Quantities are in the pool's unit and prices in currency units, as people
write them; the service turns them into whole steps and minor units. Times without an offset are the
node's local time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class Tier:
    min_quantity: Decimal  # pooled quantity from which the price applies
    price: Decimal  # per unit


@dataclass(frozen=True, slots=True)
class OpenPool:
    """An organiser opens a pool on a producer's offer."""

    pickup_points: tuple[str, ...]
    window_start: datetime
    window_end: datetime
    cutoff: datetime
    bulk_unit: Decimal
    tiers: tuple[Tier, ...]
    item_id: str | None = None
    category: str | None = None
    grade: str | None = None
    unit: str = "kg"
    step: Decimal = Decimal(1)
    moq: Decimal = Decimal(0)
    max_quantity: Decimal | None = None
    target_quantity: Decimal | None = None
    target_turnover: Decimal | None = None
    currency: str = "CNY"


@dataclass(frozen=True, slots=True)
class Join:
    """A household asks for a quantity (or a range) at a pickup point: it joins the best pool, or the one named.

    Joining a named open pool, the window and the product may be left out: they are the pool's."""

    household: str
    min_quantity: Decimal
    max_quantity: Decimal
    max_price: Decimal
    pickup_point: str
    window_start: datetime | None = None
    window_end: datetime | None = None
    item_id: str | None = None
    category: str | None = None
    grade: str | None = None
    pool_id: str | None = None
    intent_id: str | None = None


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Leave a pool before its cut-off; a household (named) may only withdraw its own line."""

    intent_id: str
    household: str | None = None  # None: the organiser, who may withdraw any line


@dataclass(frozen=True, slots=True)
class Change:
    """A household changes its line in an open pool: a new quantity (or range) and price limit, same pool."""

    intent_id: str
    household: str
    min_quantity: Decimal
    max_quantity: Decimal
    max_price: Decimal


@dataclass(frozen=True, slots=True)
class Register:
    """A household introduces itself at the storefront: a display name and a phone, no password."""

    name: str
    phone: str


@dataclass(frozen=True, slots=True)
class ClosePool:
    """Close a pool now: allocate, or fail with the reason."""

    pool_id: str


@dataclass(frozen=True, slots=True)
class Resource:
    """Try again to buy a pool that could not be sourced."""

    pool_id: str


@dataclass(frozen=True, slots=True)
class HandOut:
    """The organiser enters (or scans) the pickup code a household shows at the pickup point."""

    pickup_point: str
    code: str


@dataclass(frozen=True, slots=True)
class RefreshOffers:
    """Ask every producer the directory lists for this node's domain and city for its catalog again."""


@dataclass(frozen=True, slots=True)
class Search:
    """Ask the network (through the gateway) or one producer for its catalog."""

    query: str = ""
    category: str | None = None
    bpp_id: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    id: str
    quantity: Decimal
    unit: str = "unit"


@dataclass(frozen=True, slots=True)
class AskQuote:
    """``select`` (a quote) or ``init`` (the final terms) for lines from one producer's provider."""

    action: str  # "select" or "init"
    transaction_id: str
    bpp_id: str
    provider_id: str
    items: tuple[OrderLine, ...]
    window_id: str | None = None
    delivery_gps: str | None = None
    billing: dict[str, Any] | None = field(default=None, hash=False)


@dataclass(frozen=True, slots=True)
class Confirm:
    """Confirm the order the producer last quoted by ``on_init`` in a transaction."""

    transaction_id: str
    bpp_id: str


@dataclass(frozen=True, slots=True)
class AskStatus:
    order_id: str


@dataclass(frozen=True, slots=True)
class Cancel:
    order_id: str
    reason: str = "cancelled by buyer"
    reason_id: str | None = None


class OrderProblem(Exception):
    """Why a buyer's order command was refused; ``code`` says which kind, ``path`` which input."""

    def __init__(self, code: str, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.path = code, message, path
