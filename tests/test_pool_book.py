"""Where intents go: the best open pool, a new one when none accepts, never a closed or full one."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yuantou.domain.pool_book import PoolBook
from yuantou.domain.pooling import Allocation, Intent, PoolProblem, PoolStatus, PoolTerms, PriceTier, ProductSpec

APPLES = ProductSpec(item_id="apple", category="fruit", grade="A")


def opener(intent: Intent, now: float) -> PoolTerms | None:
    if intent.spec.item_id not in ("apple", None) or intent.spec.category not in ("fruit", None):
        return None
    return PoolTerms(spec=APPLES, pickup_points=frozenset({intent.pickup_point}), window=(2e9, 2e9 + 100),
                     cutoff=now + 50, bulk_unit=10, moq=10, tiers=(PriceTier(0, 900),), max_quantity=30)


def intent(n: int, lo: int = 5, hi: int = 10, point: str = "gate-3", spec: ProductSpec = APPLES) -> Intent:
    return Intent(f"i{n}", f"h{n}", spec, lo, hi, 1000, point, (0.0, 3e9))


def test_intents_share_a_pool_until_it_is_full_then_a_new_one_opens():
    book = PoolBook(opener)
    first = book.place(intent(0, 10, 10), now=0)
    assert book.place(intent(1, 10, 10), now=1) is first
    assert book.place(intent(2, 10, 10), now=2) is first  # minimums now 30 = the cap
    second = book.place(intent(3, 5, 10), now=3)
    assert second is not first and len(book.pools) == 2
    # the fuller pool is preferred while it still has room
    book.withdraw("i2", now=4)
    assert book.place(intent(4, 5, 5), now=5) is first


def test_pickup_points_and_categories_route_to_their_own_pools():
    book = PoolBook(opener)
    a = book.place(intent(0), now=0)
    b = book.place(intent(1, point="gate-9"), now=0)
    assert a is not b
    by_category = book.place(intent(2, spec=ProductSpec(category="fruit", grade="A")), now=1)
    assert by_category is a  # an intent for "grade A fruit" joins the apple pool at its pickup point


def test_unknown_product_and_duplicates_are_refused_without_change():
    book = PoolBook(opener)
    book.place(intent(0), now=0)
    with pytest.raises(PoolProblem) as info:
        book.place(intent(1, spec=ProductSpec(item_id="durian")), now=1)
    assert info.value.code == "unknown_product"
    with pytest.raises(PoolProblem) as info:
        book.place(intent(0), now=2)
    assert info.value.code == "duplicate_intent"
    with pytest.raises(PoolProblem) as info:
        book.place(intent(5, lo=-1), now=2)
    assert info.value.code == "bad_quantity"
    assert list(book.intent_pool) == ["i0"] and len(book.pools) == 1


def test_due_pools_close_and_stop_taking_intents():
    book = PoolBook(opener)
    pool = book.place(intent(0, 10, 20), now=0)
    assert book.due(now=49) == []
    assert book.due(now=50) == [pool]
    book.close(pool)
    assert pool.status is PoolStatus.ALLOCATED and isinstance(pool.outcome, Allocation)
    assert pool.outcome.total == 20
    later = book.place(intent(1), now=60)
    assert later is not pool
    with pytest.raises(PoolProblem):
        book.withdraw("i0", now=61)
    with pytest.raises(PoolProblem) as info:
        book.withdraw("nope", now=61)
    assert info.value.code == "unknown_intent"


def test_an_intent_no_pool_would_take_opens_nothing():
    book = PoolBook(opener)
    poor = Intent("i9", "h9", APPLES, 5, 10, 100, "gate-3", (0.0, 3e9))  # limit 1.00 < 9.00
    with pytest.raises(PoolProblem) as info:
        book.place(poor, now=0)
    assert info.value.code == "price_too_low" and book.pools == {} and book.intent_pool == {}



@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 7), st.integers(1, 5), st.integers(0, 5)), max_size=40))
def test_running_totals_match_the_members_after_any_joins_and_withdrawals(moves):
    book = PoolBook(lambda intent, now: PoolTerms(
        spec=APPLES, pickup_points=frozenset({"gate-3"}), window=(2e9, 2e9 + 100), cutoff=1e9, bulk_unit=10, moq=0,
        tiers=(PriceTier(0, 900),)))
    for n, (joining, household, lo, extra) in enumerate(moves):
        if joining:
            book.place(Intent(f"i{n}", f"h{household}", APPLES, lo, lo + extra, 1000, "gate-3", (0.0, 3e9)), now=n)
        elif book.intent_pool:
            book.withdraw(sorted(book.intent_pool)[household % len(book.intent_pool)], now=n)
    for pool in book.pools.values():
        members = list(pool.intents.values())
        assert pool.min_total == sum(i.min_quantity for i in members)
        assert pool.max_total == sum(i.max_quantity for i in members)
        assert pool.households == {h: sum(1 for i in members if i.household == h) for h in {i.household for i in members}}
