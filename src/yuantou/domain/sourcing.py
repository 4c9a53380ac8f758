"""What sourcing a closed pool works with, pure: producers' offers, purchases, landed cost, and why none fits.

The solver that picks the cheapest mix (``yuantou.plan.sourcing``) returns these. Quantities
are in the pool's steps, money in minor units per unit (as in ``pooling``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from yuantou.domain.pooling import PriceTier


@dataclass(frozen=True, slots=True)
class Offer:
    producer_id: str  # the producer node (bpp_id)
    provider_id: str
    item_id: str
    tiers: tuple[PriceTier, ...]
    bulk_unit: int
    moq: int
    capacity: int
    delivery_fixed: int = 0  # minor units per shipment to the pickup point
    delivery_per_unit: int = 0  # minor units per unit
    unit: str = "unit"
    currency: str = "CNY"
    window_id: str = ""  # the producer's fulfillment window that covers the pool's delivery window
    seen_at: float = 0.0  # when the catalog it comes from arrived (what it says of capacity was true then)


@dataclass(frozen=True, slots=True)
class Purchase:
    offer: Offer
    quantity: int  # steps
    unit_price: int  # tier price reached at this producer
    cost: Decimal  # landed: goods + delivery, minor units


@dataclass(frozen=True, slots=True)
class Sourcing:
    purchases: tuple[Purchase, ...]
    total_cost: Decimal

    @property
    def quantity(self) -> int:
        return sum(p.quantity for p in self.purchases)


@dataclass(frozen=True, slots=True)
class SourcingFailure:
    code: str  # no_offer | capacity | moq | bulk_units
    reason: str


def landed_cost(offer: Offer, quantity: int, step: Decimal) -> tuple[int, Decimal]:
    """(tier unit price, goods + delivery cost) of buying ``quantity`` steps from ``offer``."""
    price = next(t.unit_price for t in reversed(offer.tiers) if t.min_quantity <= quantity)
    units = Decimal(quantity) * step
    return price, units * (price + offer.delivery_per_unit) + (offer.delivery_fixed if quantity else 0)


def diagnose(total: int, offers: list[Offer]) -> tuple[str, str]:
    """Capacity is enough (checked before), so minimum batches or bulk units must bind."""
    smallest = min(max(o.moq, o.bulk_unit) for o in offers)
    if total < smallest:
        return "moq", f"the pooled {total} steps are below every producer's minimum batch (smallest {smallest})"
    sizes = sorted({o.bulk_unit for o in offers})
    return "bulk_units", (f"no mix of whole bulk units ({', '.join(map(str, sizes))} steps) within the producers' "
                          f"minimum batches and capacities adds up to exactly {total}")
