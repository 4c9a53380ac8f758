"""Re-sourcing and who-supplies-whom (pure rules), under hypothesis."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from yuantou.domain.pooling import PriceTier
from yuantou.domain.procurement import (
    FAILED,
    LIVE,
    Line,
    PlacedOrder,
    is_bought,
    less_ordered_elsewhere,
    line_status,
    live_quantity,
    next_purchases,
    offers_left,
    split_supply,
)
from yuantou.domain.sourcing import Offer, Sourcing, SourcingFailure
from yuantou.plan.sourcing import source

STAGES = LIVE + FAILED + ("cancelled",)


def offer(name: str, price: int, capacity: int, bulk: int = 10) -> Offer:
    return Offer(name, f"{name}-provider", "apple", (PriceTier(0, price),), bulk, 0, capacity)


def test_a_failed_producer_is_not_asked_again_and_others_lose_what_they_already_took():
    offers = [offer("hill", 800, 100), offer("valley", 850, 100), offer("ridge", 900, 300)]
    orders = [PlacedOrder("a", "hill", "apple", 100, "confirmed"), PlacedOrder("b", "valley", "apple", 80, "timed_out")]
    left = {o.producer_id: o.capacity for o in offers_left(offers, orders)}
    assert left == {"ridge": 300}  # hill is full, valley failed
    plan = next_purchases(180, orders, offers, Decimal(1), source)
    assert isinstance(plan, Sourcing) and [(p.offer.producer_id, p.quantity) for p in plan.purchases] == [("ridge", 80)]


def test_a_producer_that_failed_is_asked_again_once_its_catalog_came_again():
    """It refused at 100.0; an offer from a catalog that came before then is not asked, one that came after is
    (it may have room now)."""
    orders = [PlacedOrder("b", "valley", "apple", 80, "refused", updated_at=100.0)]
    stale = replace(offer("valley", 850, 100), seen_at=90.0)
    fresh = replace(stale, seen_at=120.0)
    assert offers_left([stale], orders) == []
    assert [o.producer_id for o in offers_left([fresh], orders)] == ["valley"]
    plan = next_purchases(80, orders, [fresh], Decimal(1), source)
    assert isinstance(plan, Sourcing) and [(p.offer.producer_id, p.quantity) for p in plan.purchases] == [("valley", 80)]


def test_what_other_pools_ordered_since_a_catalog_came_is_not_offered_again():
    """The catalog said 100; two other pools have since ordered 30 kg and 25 half-kilos (12.5 kg) from that window:
    in this pool's steps of 1 kg, 57 are left (12.5 kg rounds up to 13: never over-promise)."""
    hill = replace(offer("hill", 800, 100), window_id="d1")
    left = less_ordered_elsewhere([hill], {("hill", "apple", "d1"): Decimal("42.5")}, Decimal(1))
    assert [o.capacity for o in left] == [57]
    assert less_ordered_elsewhere([hill], {("hill", "apple", "d1"): Decimal(100)}, Decimal(1)) == []
    assert less_ordered_elsewhere([hill], {("hill", "apple", "d2"): Decimal(100)}, Decimal(1)) == [hill]


def test_when_the_rest_cannot_be_bought_the_reason_names_who_failed_and_what_binds():
    orders = [PlacedOrder("a", "hill", "apple", 100, "confirmed"), PlacedOrder("b", "valley", "apple", 80, "refused")]
    failure = next_purchases(180, orders, [offer("hill", 800, 100), offer("valley", 850, 100), offer("ridge", 900, 50)], Decimal(1), source)
    assert isinstance(failure, SourcingFailure) and failure.code == "capacity"
    assert failure.reason.startswith("after valley failed, 80 steps were left to buy")


def test_nothing_is_bought_twice():
    orders = [PlacedOrder("a", "hill", "apple", 100, "confirmed"), PlacedOrder("b", "ridge", "apple", 80, "init")]
    assert next_purchases(180, orders, [offer("hill", 800, 900)], Decimal(1), source).purchases == ()
    assert not is_bought(180, orders)  # ridge has not confirmed yet
    assert is_bought(180, [orders[0], PlacedOrder("b", "ridge", "apple", 80, "confirmed")])


@st.composite
def pools_with_orders(draw):
    producers = [f"p{k}" for k in range(draw(st.integers(1, 4)))]
    offers = [offer(p, draw(st.integers(500, 1000)), draw(st.integers(0, 20)) * 10,
                    draw(st.sampled_from([5, 10, 20]))) for p in producers]
    orders = [PlacedOrder(f"o{i}", draw(st.sampled_from(producers)), "apple", draw(st.integers(1, 8)) * 10,
                          draw(st.sampled_from(STAGES))) for i in range(draw(st.integers(0, 4)))]
    total = live_quantity(orders) + draw(st.integers(0, 30)) * 10
    return total, orders, offers


@settings(max_examples=150, deadline=None)
@given(pools_with_orders())
def test_re_sourcing_covers_exactly_the_rest_within_what_each_producer_has_left(case):
    total, orders, offers = case
    plan = next_purchases(total, orders, offers, Decimal(1), source)
    if isinstance(plan, SourcingFailure):
        return
    failed = {o.producer_id for o in orders if o.stage in FAILED}
    assert live_quantity(orders) + plan.quantity == total  # conservation
    taken = {o.producer_id: 0 for o in offers}
    for o in orders:
        if o.stage in LIVE:
            taken[o.producer_id] += o.quantity
    capacity = {o.producer_id: o.capacity for o in offers}
    for p in plan.purchases:
        assert p.offer.producer_id not in failed
        assert p.quantity <= capacity[p.offer.producer_id] - taken[p.offer.producer_id]
        assert p.quantity % p.offer.bulk_unit == 0


@st.composite
def lines_and_orders(draw):
    lines = [Line(f"i{k}", f"h{k}", draw(st.sampled_from(["gate-3", "school", "market"])), draw(st.integers(1, 30)))
             for k in range(draw(st.integers(0, 12)))]
    orders = [PlacedOrder(f"o{k}", f"p{k % 3}", "apple", draw(st.integers(1, 60)), draw(st.sampled_from(STAGES)))
              for k in range(draw(st.integers(0, 5)))]
    return lines, orders


@settings(max_examples=200, deadline=None)
@given(lines_and_orders())
def test_supply_split_never_gives_more_than_an_order_holds_nor_a_household_more_than_its_line(case):
    lines, orders = case
    split = split_supply(lines, orders)
    wanted = sum(line.quantity for line in lines)
    supplied = live_quantity(orders)
    per_order: dict[str, int] = {}
    for line in lines:
        parts = split[line.intent_id]
        assert sum(q for _, q in parts) <= line.quantity and all(q > 0 for _, q in parts)
        for order, q in parts:
            assert order.stage in LIVE
            per_order[order.key] = per_order.get(order.key, 0) + q
    assert all(per_order[o.key] <= o.quantity for o in orders if o.key in per_order)
    assert sum(per_order.values()) == min(wanted, supplied)  # everything that can be covered is


def test_each_producer_serves_as_few_pickup_points_as_possible():
    lines = [Line("a", "ha", "school", 10), Line("b", "hb", "gate-3", 10), Line("c", "hc", "school", 10),
             Line("d", "hd", "gate-3", 10)]
    split = split_supply(lines, [PlacedOrder("x", "big", "apple", 20, "confirmed"),
                                 PlacedOrder("y", "small", "apple", 20, "confirmed")])
    points = {o.producer_id: set() for o in (split["a"][0][0], split["b"][0][0])}
    for line in lines:
        points[split[line.intent_id][0][0].producer_id].add(line.pickup_point)
    assert all(len(p) == 1 for p in points.values())


def test_a_households_status_is_its_least_advanced_supplier():
    shipped = PlacedOrder("x", "a", "apple", 10, "confirmed", "Shipped")
    packed = PlacedOrder("y", "b", "apple", 10, "confirmed", "Packed")
    waiting = PlacedOrder("z", "c", "apple", 10, "confirm")
    assert line_status("ordered", [(shipped, 5), (packed, 5)], 10) == "packed"
    assert line_status("ordered", [(shipped, 10)], 10) == "shipped"
    assert line_status("ordered", [(PlacedOrder("w", "a", "apple", 10, "confirmed"), 10)], 10) == "ordered"
    assert line_status("ordering", [(shipped, 5), (waiting, 5)], 10) == "ordering"
    assert line_status("ordered", [(shipped, 5)], 10) == "ordering"  # part of it not covered yet
    assert line_status("unsourced", [], 10) == "unsourced"
