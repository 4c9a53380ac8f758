"""Sourcing a closed pool across producers at the least landed cost: a small MIP on HiGHS.

Each producer's offer (learned from its ``on_search`` catalog) has all-units price tiers,
a bulk unit, a minimum batch (MOQ), the capacity left in the pool's delivery window and
a delivery cost to the pickup point (a fixed charge per shipment plus a rate per unit).
The model picks, per producer, at most one tier and a whole number of bulk units in it so
that the quantities add up exactly to the pooled total:

    minimise   Σ (tier price + delivery rate) · x_jt  +  Σ delivery fixed charge · y_jt
    subject to Σ x_jt = Q,   Σ_t y_jt <= 1,   x_jt = bulk_j · n_jt,
               max(tier min, MOQ_j, bulk_j) · y_jt <= x_jt <= min(tier max, capacity_j) · y_jt

Quantities are in the pool's steps, money in minor units per unit (as in ``pooling``).
When no plan exists the result names the constraint that binds instead of ordering part.

A pool's total is rarely more than a few hundred bulk units, so the same optimum is first
sought by dynamic programming over whole multiples of the producers' common bulk unit
(a min-plus convolution per producer, in numpy: ~0.1 ms instead of ~10 ms for HiGHS to
set up and solve the MIP). Larger totals, or bulk units with a tiny common divisor, go
to the MIP. Tests hold both to brute force.
"""

from __future__ import annotations

from decimal import Decimal
from functools import reduce
from math import gcd

import highspy
import numpy as np

from yuantou.domain.sourcing import Offer, Purchase, Sourcing, SourcingFailure, diagnose, landed_cost
from yuantou.plan.highs import quiet_highs

DP_LIMIT = 1_000  # most common-bulk-unit multiples the dynamic programme handles before HiGHS takes over


def source(total: int, offers: list[Offer], step: Decimal = Decimal(1), time_limit: float = 10.0) -> Sourcing | SourcingFailure:
    """The cheapest exact sourcing of ``total`` steps, or why there is none."""
    usable = [o for o in offers if o.capacity >= max(o.moq, o.bulk_unit)]
    if not usable:
        return SourcingFailure("no_offer", "no producer offers this item with capacity in the pool's window")
    reachable = sum(o.capacity // o.bulk_unit * o.bulk_unit for o in usable)
    if reachable < total:
        return SourcingFailure("capacity", f"producers can deliver at most {reachable} of the {total} steps pooled "
                                           f"in the delivery window")
    unit = reduce(gcd, (o.bulk_unit for o in usable))
    if total % unit:
        return SourcingFailure(*diagnose(total, usable))
    if total // unit <= DP_LIMIT:
        return _by_dynamic_programme(total, usable, step, unit) or SourcingFailure(*diagnose(total, usable))
    return _by_mip(total, usable, step, time_limit)


def _purchases(chosen: list[tuple[Offer, int]], step: Decimal) -> Sourcing:
    purchases = []
    for offer, quantity in chosen:
        price, cost = landed_cost(offer, quantity, step)
        purchases.append(Purchase(offer, quantity, price, cost))
    purchases.sort(key=lambda p: (-p.quantity, p.offer.producer_id))
    return Sourcing(tuple(purchases), sum((p.cost for p in purchases), Decimal(0)))


def _cost_curve(offer: Offer, units: int, unit: int, step: float) -> np.ndarray:
    """Landed cost of buying 0, 1, ..., ``units`` common units from ``offer`` (inf where it cannot sell that)."""
    quantity = np.arange(units + 1, dtype=np.int64) * unit
    mins = np.array([t.min_quantity for t in offer.tiers])
    prices = np.array([t.unit_price for t in offer.tiers], dtype=np.float64)
    price = prices[np.searchsorted(mins, quantity, side="right") - 1]
    cost = quantity * step * (price + offer.delivery_per_unit) + offer.delivery_fixed
    allowed = (quantity % offer.bulk_unit == 0) & (quantity >= max(offer.moq, offer.bulk_unit)) & (quantity <= offer.capacity)
    cost[~allowed] = np.inf
    cost[0] = 0.0
    return cost


def _by_dynamic_programme(total: int, offers: list[Offer], step: Decimal, unit: int) -> Sourcing | None:
    """Exact optimum by min-plus convolution of the producers' cost curves; None if no mix adds up."""
    units = total // unit
    best = _cost_curve(offers[0], units, unit, float(step))
    taken = []  # per later producer: for each running total, how many units it supplied
    index = np.arange(units + 1)
    for offer in offers[1:]:
        curve = _cost_curve(offer, units, unit, float(step))
        # grid[u, k] = best[u - k] + curve[k]: the running total u with k units from this producer
        shifted = index[:, None] - index[None, :]
        grid = np.where(shifted >= 0, best[np.clip(shifted, 0, None)], np.inf) + curve[None, :]
        choice = np.argmin(grid, axis=1)
        best = grid[index, choice]
        taken.append(choice)
    if not np.isfinite(best[units]):
        return None
    chosen, left = [], units
    for offer, choice in zip(reversed(offers[1:]), reversed(taken)):
        k = int(choice[left])
        if k:
            chosen.append((offer, k * unit))
        left -= k
    if left:
        chosen.append((offers[0], left * unit))
    return _purchases(chosen, step)


def _by_mip(total: int, usable: list[Offer], step: Decimal, time_limit: float) -> Sourcing | SourcingFailure:
    h = quiet_highs()
    h.setOptionValue("time_limit", time_limit)
    pieces = []  # (offer, tier price, x expression, y variable)
    objective = 0
    supply = 0
    for offer in usable:
        chosen = []
        for index, tier in enumerate(offer.tiers):
            upper = offer.tiers[index + 1].min_quantity - 1 if index + 1 < len(offer.tiers) else offer.capacity
            low = max(tier.min_quantity, offer.moq, offer.bulk_unit)
            high = min(upper, offer.capacity)
            n_low, n_high = -(-low // offer.bulk_unit), high // offer.bulk_unit
            if n_low > n_high:
                continue
            n = h.addIntegral(lb=0, ub=n_high)
            y = h.addBinary()
            h.addConstr(n - n_low * y >= 0)
            h.addConstr(n - n_high * y <= 0)
            rate = float((tier.unit_price + offer.delivery_per_unit) * step * offer.bulk_unit)
            objective = objective + n * rate + y * float(offer.delivery_fixed)
            supply = supply + n * offer.bulk_unit
            chosen.append(y)
            pieces.append((offer, n, y))
        if len(chosen) > 1:
            h.addConstr(sum(chosen[1:], chosen[0]) <= 1)
    if not pieces:
        return SourcingFailure("moq", "every producer's minimum batch exceeds its capacity")
    h.addConstr(supply == total)  # type: ignore[arg-type]  # highspy builds a constraint from ==; its stubs say bool
    h.minimize(objective)
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        return SourcingFailure(*diagnose(total, usable))
    chosen = [(offer, round(h.val(n)) * offer.bulk_unit) for offer, n, y in pieces if round(h.val(n)) and round(h.val(y))]
    return _purchases(chosen, step)
