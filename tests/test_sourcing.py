"""Sourcing a pooled total across producers on HiGHS: optimal against brute force, and honest failures."""

from __future__ import annotations

import itertools
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from yuantou.domain.pooling import PriceTier
from yuantou.domain.sourcing import Offer, Sourcing, SourcingFailure, landed_cost
from yuantou.plan.sourcing import _by_mip, source


def offer(name: str, price: int, capacity: int, bulk: int = 10, moq: int = 0, fixed: int = 0, rate: int = 0,
          tiers: tuple[PriceTier, ...] | None = None) -> Offer:
    return Offer(name, f"{name}-provider", "apple", tiers or (PriceTier(0, price),), bulk, moq, capacity, fixed, rate)


def test_cheapest_producer_takes_everything_it_can():
    plan = source(100, [offer("dear", 900, 500), offer("cheap", 800, 500)])
    assert isinstance(plan, Sourcing)
    assert [(p.offer.producer_id, p.quantity) for p in plan.purchases] == [("cheap", 100)]
    assert plan.total_cost == 80_000


def test_capacity_splits_the_order_and_moq_is_respected():
    plan = source(100, [offer("cheap", 800, 70), offer("dear", 900, 500, moq=40)])
    # cheap can give 70, but dear will not ship under 40: 60 + 40
    assert sorted((p.offer.producer_id, p.quantity) for p in plan.purchases) == [("cheap", 60), ("dear", 40)]
    assert plan.quantity == 100


def test_a_tier_or_a_delivery_charge_can_make_consolidating_cheaper():
    tiered = offer("tiered", 0, 500, tiers=(PriceTier(0, 900), PriceTier(100, 750)))
    plan = source(100, [tiered, offer("flat", 800, 500)])
    assert [(p.offer.producer_id, p.unit_price) for p in plan.purchases] == [("tiered", 750)]
    plan = source(100, [offer("a", 800, 60, fixed=5_000), offer("b", 820, 500, fixed=5_000)])
    assert [p.offer.producer_id for p in plan.purchases] == ["b"]  # one truck beats saving 0.20/unit on 60


def test_failures_name_the_binding_constraint():
    assert source(100, []).code == "no_offer"
    short = source(100, [offer("a", 800, 40), offer("b", 800, 30)])
    assert isinstance(short, SourcingFailure) and short.code == "capacity" and "70" in short.reason
    assert source(30, [offer("a", 800, 500, moq=50)]).code == "moq"
    assert source(35, [offer("a", 800, 500, bulk=10), offer("b", 800, 500, bulk=20)]).code == "bulk_units"


@st.composite
def markets(draw):
    offers = []
    for k in range(draw(st.integers(1, 3))):
        bulk = draw(st.sampled_from([5, 10, 20]))
        n_tiers = draw(st.integers(1, 2))
        prices = sorted(draw(st.lists(st.integers(500, 1000), min_size=n_tiers, max_size=n_tiers, unique=True)),
                        reverse=True)
        mins = [0] + ([draw(st.integers(1, 8)) * 10] if n_tiers == 2 else [])
        offers.append(Offer(f"p{k}", f"p{k}", "apple", tuple(PriceTier(m, p) for m, p in zip(mins, prices)), bulk,
                            draw(st.sampled_from([0, 10, 30])), draw(st.integers(0, 12)) * 10,
                            draw(st.sampled_from([0, 2000])), draw(st.integers(0, 50))))
    return draw(st.integers(1, 16)) * 5, offers


@settings(max_examples=150, deadline=None)
@given(markets())
def test_optimal_against_brute_force(case):
    total, offers = case
    best = None
    choices = [[q for q in range(0, o.capacity + 1, o.bulk_unit) if q == 0 or q >= o.moq] for o in offers]
    for quantities in itertools.product(*choices):
        if sum(quantities) == total:
            cost = sum((landed_cost(o, q, Decimal(1))[1] for o, q in zip(offers, quantities) if q), Decimal(0))
            best = cost if best is None else min(best, cost)
    plan = source(total, offers)
    if best is None:
        assert isinstance(plan, SourcingFailure)
        return
    assert isinstance(plan, Sourcing), plan
    assert plan.quantity == total
    for p in plan.purchases:
        assert p.quantity % p.offer.bulk_unit == 0 and p.quantity >= p.offer.moq and p.quantity <= p.offer.capacity
    assert abs(plan.total_cost - best) <= Decimal("0.01"), (plan, best)


@settings(max_examples=150, deadline=None)
@given(markets(), st.sampled_from([Decimal(1), Decimal("0.5")]))
def test_the_dynamic_programme_and_the_mip_find_the_same_optimum(case, step):
    total, offers = case
    usable = [o for o in offers if o.capacity >= max(o.moq, o.bulk_unit)]
    fast = source(total, offers, step)  # totals this small always take the dynamic programme
    if not usable or sum(o.capacity // o.bulk_unit * o.bulk_unit for o in usable) < total:
        assert isinstance(fast, SourcingFailure) and fast.code in ("no_offer", "capacity")
        return
    mip = _by_mip(total, usable, step, time_limit=10)
    assert type(fast) is type(mip), (fast, mip)
    if isinstance(mip, Sourcing):
        assert fast.quantity == mip.quantity == total
        assert abs(fast.total_cost - mip.total_cost) <= Decimal("0.01"), (fast, mip)
    else:
        assert fast.code == mip.code


def test_totals_beyond_the_dynamic_programme_go_to_the_mip():
    offers = [offer("a", 800, 20_000), offer("b", 900, 30_000, moq=1_000)]
    plan = source(25_000, offers)  # 2,500 crates: past DP_LIMIT
    assert isinstance(plan, Sourcing)
    assert sorted((p.offer.producer_id, p.quantity) for p in plan.purchases) == [("a", 20_000), ("b", 5_000)]
