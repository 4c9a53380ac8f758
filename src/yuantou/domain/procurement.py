"""Buying a closed pool's total from producers, and re-buying what a producer fails to deliver (pure).

A closed pool's total is bought with one Beckn order per chosen producer (select → init →
confirm). Each order walks these stages::

    select → init → confirm → confirmed          (live: counts towards the pool's total)
       ↘        ↘        ↘          ↘
        refused / timed_out (failed: its producer is not asked again for this pool)
        cancelled           (we gave it up: the pool could not be bought in full)

Whatever failed orders leave open is sourced again from the remaining offers, with the
capacity already ordered from each producer taken off — by this pool, and by the buyer's other pools since
the producer's catalog said what it had. A producer that failed the pool is asked again only once its
catalog has come again since (it may have room now). If that is impossible the pool
is not bought at all (all or nothing: households were promised their allocated lines,
so it is never ordered partially), and the reason names the binding constraint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal

from yuantou.domain.fulfilment import PROGRESS
from yuantou.domain.sourcing import Offer, Sourcing, SourcingFailure

# the cheapest exact sourcing of a total in steps from offers, or why there is none (``yuantou.plan.sourcing.source``)
Solver = Callable[[int, list[Offer], Decimal], Sourcing | SourcingFailure]

AWAITING = ("select", "init", "confirm")  # a request is out, its callback is awaited
LIVE = AWAITING + ("confirmed",)
FAILED = ("refused", "timed_out")



@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """What procurement needs to know of an order already placed for the pool."""

    key: str
    producer_id: str
    item_id: str
    quantity: int  # steps
    stage: str
    fulfillment: str | None = None
    updated_at: float = 0.0  # for a failed order: when it failed


def live_quantity(orders: Iterable[PlacedOrder]) -> int:
    return sum(o.quantity for o in orders if o.stage in LIVE)


def offers_left(offers: Sequence[Offer], orders: Sequence[PlacedOrder]) -> list[Offer]:
    """Offers still worth asking: not from a producer that failed this pool since its catalog last came, less
    what it already took."""
    failed: dict[tuple[str, str], float] = {}
    for o in orders:
        if o.stage in FAILED:
            failed[(o.producer_id, o.item_id)] = max(failed.get((o.producer_id, o.item_id), 0.0), o.updated_at)
    taken: dict[tuple[str, str], int] = {}
    for o in orders:
        if o.stage in LIVE:
            taken[(o.producer_id, o.item_id)] = taken.get((o.producer_id, o.item_id), 0) + o.quantity
    left = []
    for offer in offers:
        key = (offer.producer_id, offer.item_id)
        if key in failed and offer.seen_at <= failed[key]:
            continue
        capacity = offer.capacity - taken.get(key, 0)
        if capacity > 0:
            left.append(replace(offer, capacity=capacity) if capacity != offer.capacity else offer)
    return left


def less_ordered_elsewhere(offers: Sequence[Offer], elsewhere: dict[tuple[str, str, str], Decimal],
                           step: Decimal) -> list[Offer]:
    """The offers with what the buyer's other pools ordered from them since each catalog came taken off
    (``elsewhere``: units per producer, item and window; ``step``: this pool's, in which capacities are)."""
    left = []
    for offer in offers:
        ordered = elsewhere.get((offer.producer_id, offer.item_id, offer.window_id), Decimal(0))
        capacity = offer.capacity - int((ordered / step).to_integral_value(ROUND_CEILING))  # never over-promise
        if capacity > 0:
            left.append(replace(offer, capacity=capacity) if capacity != offer.capacity else offer)
    return left


def next_purchases(total: int, orders: Sequence[PlacedOrder], offers: Sequence[Offer], step: Decimal,
                   solve: Solver) -> Sourcing | SourcingFailure:
    """What to order now so that live orders add up to ``total`` (an empty sourcing if they already do)."""
    need = total - live_quantity(orders)
    if need <= 0:
        return Sourcing((), Decimal(0))
    result = solve(need, offers_left(offers, orders), step)
    if isinstance(result, SourcingFailure) and any(o.stage in FAILED for o in orders):
        failed = sorted({o.producer_id for o in orders if o.stage in FAILED})
        return SourcingFailure(result.code, f"after {', '.join(failed)} failed, {need} steps were left to buy: "
                                            f"{result.reason}")
    return result


def is_bought(total: int, orders: Sequence[PlacedOrder]) -> bool:
    """Every step of the pool is covered by a confirmed order and nothing else is outstanding."""
    live = [o for o in orders if o.stage in LIVE]
    return bool(live) and all(o.stage == "confirmed" for o in live) and live_quantity(live) == total


# -- who supplies whom ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Line:
    """A household's allocated line in a closed pool."""

    intent_id: str
    household: str
    pickup_point: str
    quantity: int  # steps


def split_supply(lines: Sequence[Line], orders: Sequence[PlacedOrder]) -> dict[str, list[tuple[PlacedOrder, int]]]:
    """Which live order supplies how much of each household's line.

    Lines are taken pickup point by pickup point (in the order given within each point), and
    orders largest first, so each producer's goods go to as few pickup points as possible.
    A line may be split between two producers; steps no live order covers yet are left out.
    """
    supplies = sorted((o for o in orders if o.stage in LIVE), key=lambda o: (-o.quantity, o.producer_id, o.key))
    by_point: dict[str, list[Line]] = {}
    for line in lines:
        by_point.setdefault(line.pickup_point, []).append(line)
    split: dict[str, list[tuple[PlacedOrder, int]]] = {line.intent_id: [] for line in lines}
    index, left = 0, supplies[0].quantity if supplies else 0
    for point in sorted(by_point):
        for line in by_point[point]:
            wanted = line.quantity
            while wanted and index < len(supplies):
                take = min(wanted, left)
                if take:
                    split[line.intent_id].append((supplies[index], take))
                    wanted -= take
                    left -= take
                if left == 0:
                    index += 1
                    left = supplies[index].quantity if index < len(supplies) else 0
    return split


def line_status(procurement: str | None, suppliers: Sequence[tuple[PlacedOrder, int]], quantity: int) -> str:
    """A household's line as it sees it: ordering, ordered, accepted, packed, shipped, delivered or unsourced."""
    if procurement == "unsourced":
        return "unsourced"
    if procurement != "ordered" or sum(q for _, q in suppliers) < quantity or \
            any(o.stage != "confirmed" for o, _ in suppliers):
        return "ordering"
    states = [o.fulfillment or "Pending" for o, _ in suppliers]
    least = min(states, key=lambda s: PROGRESS.index(s) if s in PROGRESS else 0)
    return "ordered" if least == "Pending" else least.lower()
