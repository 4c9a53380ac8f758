"""The pooling invariants, on random pools (hypothesis), plus the refusals a household can meet."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yuantou.domain.pooling import (
    Allocation,
    Failure,
    Intent,
    Pool,
    PoolProblem,
    PoolStatus,
    PoolTerms,
    PriceTier,
    ProductSpec,
    allocate,
    share,
    to_steps,
)

APPLES = ProductSpec(item_id="apple-fuji-a", category="fruit", grade="A")
WINDOW = (1_000.0, 2_000.0)


def terms(**overrides) -> PoolTerms:
    values = dict(spec=APPLES, pickup_points=frozenset({"gate-3"}), window=WINDOW, cutoff=500.0, bulk_unit=10,
                  moq=20, tiers=(PriceTier(0, 900), PriceTier(50, 850), PriceTier(100, 800)))
    values.update(overrides)
    return PoolTerms(**values)


def intent(n: int, lo: int, hi: int, limit: int = 1000, **overrides) -> Intent:
    values = dict(id=f"i{n}", household=f"h{n}", spec=APPLES, min_quantity=lo, max_quantity=hi, max_price=limit,
                  pickup_point="gate-3", window=(900.0, 2_100.0), joined_at=float(n))
    values.update(overrides)
    return Intent(**values)


@st.composite
def pools(draw):
    bulk = draw(st.integers(1, 25))
    n_tiers = draw(st.integers(1, 4))
    mins = sorted(draw(st.sets(st.integers(1, 300), min_size=n_tiers - 1, max_size=n_tiers - 1)))
    prices = sorted(draw(st.lists(st.integers(100, 2000), min_size=n_tiers, max_size=n_tiers, unique=True)),
                    reverse=True)
    tiers = tuple(PriceTier(m, p) for m, p in zip([0, *mins], prices))
    moq = draw(st.integers(0, 200))
    cap = draw(st.one_of(st.none(), st.integers(max(moq, bulk), 600)))
    t = terms(bulk_unit=bulk, moq=moq, tiers=tiers, max_quantity=cap)
    intents = []
    for n in range(draw(st.integers(0, 25))):
        lo = draw(st.integers(1, 30))
        hi = lo + draw(st.integers(0, 30))
        intents.append(intent(n, lo, hi, draw(st.integers(50, 2100))))
    if cap is not None:  # joining refuses intents once the minimums would pass the cap
        kept, total = [], 0
        for i in intents:
            if total + i.min_quantity <= cap:
                kept.append(i)
                total += i.min_quantity
        intents = kept
    return t, intents


def feasible_totals(t: PoolTerms, intents: list[Intent]) -> list[int]:
    """Brute force: every total a pool could legally allocate."""
    out = []
    top = sum(i.max_quantity for i in intents)
    for total in range(t.bulk_unit, top + 1, t.bulk_unit):
        if total < t.moq or (t.max_quantity is not None and total > t.max_quantity):
            continue
        price = t.price_at(total)
        served = [i for i in intents if i.max_price >= price]
        if sum(i.min_quantity for i in served) <= total <= sum(i.max_quantity for i in served):
            out.append(total)
    return out


@settings(max_examples=400, deadline=None)
@given(pools())
def test_allocation_invariants(case):
    t, intents = case
    outcome = allocate("p", t, intents)
    possible = feasible_totals(t, intents)
    if isinstance(outcome, Failure):
        assert not possible, f"failed ({outcome.code}) although {possible[-1]} was feasible"
        return
    by_id = {i.id: i for i in intents}
    total = sum(line.quantity for line in outcome.lines)
    assert total == outcome.total  # conservation
    assert outcome.total % t.bulk_unit == 0 and outcome.total >= max(t.moq, 1)
    assert t.max_quantity is None or outcome.total <= t.max_quantity
    assert outcome.unit_price == t.price_at(outcome.total)  # the tier the total reaches
    for line in outcome.lines:
        i = by_id[line.intent_id]
        assert i.min_quantity <= line.quantity <= i.max_quantity
        assert i.max_price >= outcome.unit_price  # nobody pays above its limit
    served = {line.intent_id for line in outcome.lines}
    assert len(served) == len(outcome.lines)
    assert served.isdisjoint(outcome.priced_out) and served.isdisjoint(outcome.left_out)
    assert served | set(outcome.priced_out) | set(outcome.left_out) == set(by_id)
    assert all(by_id[i].max_price < outcome.unit_price for i in outcome.priced_out)
    if possible:  # everyone could be considered: the largest legal total, so the best tier reachable
        assert not outcome.left_out and outcome.total == max(possible)
    else:  # left out the latest joiners, and only as many as needed
        kept = [i for i in intents if i.id not in outcome.left_out]
        assert outcome.left_out and outcome.total == max(feasible_totals(t, kept))
        latest = sorted(intents, key=lambda i: i.joined_at)[-len(outcome.left_out):]
        assert {i.id for i in latest} == set(outcome.left_out)
        one_fewer = [i for i in intents if i.id not in outcome.left_out[:-1]]
        assert not feasible_totals(t, one_fewer)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=30), st.data())
def test_share_is_even_above_minimums(pairs, data):
    mins = [a for a, _ in pairs]
    maxs = [a + b for a, b in pairs]
    total = data.draw(st.integers(sum(mins), sum(maxs)))
    got = share(total, mins, maxs, order=list(range(len(pairs))))
    assert sum(got) == total
    assert all(lo <= q <= hi for q, lo, hi in zip(got, mins, maxs))
    # fairness: households not at their max have risen within one step of each other, and one
    # that reached its max rose at most one step more than they did
    rises = [q - lo for q, lo in zip(got, mins)]
    open_rises = [r for r, q, hi in zip(rises, got, maxs) if q < hi]
    if open_rises:
        assert max(open_rises) - min(open_rises) <= 1
        assert all(r <= min(open_rises) + 1 for r in rises)


def test_a_worked_pool():
    """Three households, 10-step crates, MOQ 20: fill minimums, share the rest, lowest tier reached."""
    pool = Pool("p1", terms())
    for n, (lo, hi) in enumerate([(4, 10), (6, 6), (3, 30)]):
        pool.join(intent(n, lo, hi), now=float(n))
    outcome = pool.close()
    assert isinstance(outcome, Allocation)
    assert outcome.total == 40 and outcome.unit_price == 900  # 46 wanted at most; 40 = 4 crates
    assert [line.quantity for line in outcome.lines] == [10, 6, 24]
    assert pool.status is PoolStatus.ALLOCATED


def test_price_limit_excludes_and_is_reported():
    t = terms(moq=10)
    intents = [intent(0, 30, 60, limit=900), intent(1, 30, 50, limit=820)]
    outcome = allocate("p", t, intents)
    # 110 would reach 800 per unit and serve both
    assert isinstance(outcome, Allocation) and outcome.total == 110 and outcome.unit_price == 800
    intents = [intent(0, 30, 60, limit=900), intent(1, 5, 10, limit=860)]
    outcome = allocate("p", t, intents)  # 70 at most: the 850 tier, both served
    assert (outcome.total, outcome.unit_price) == (70, 850) and {line.intent_id for line in outcome.lines} == {"i0", "i1"}
    intents = [intent(0, 30, 60, limit=900), intent(1, 5, 10, limit=820)]
    outcome = allocate("p", t, intents)  # i1 cannot pay 850, and without it 60 stays in the 850 tier
    assert (outcome.total, outcome.unit_price, outcome.priced_out) == (60, 850, ("i1",))
    intents = [intent(0, 5, 30, limit=900), intent(1, 5, 9, limit=880)]
    outcome = allocate("p", t, intents)
    assert outcome.unit_price == 900 and outcome.priced_out == ("i1",) and outcome.total == 30


def test_failures_name_the_binding_constraint():
    assert allocate("p", terms(), []).code == "empty"
    short = allocate("p", terms(moq=50), [intent(0, 5, 20)])
    assert isinstance(short, Failure) and short.code == "below_moq" and "50" in short.reason
    misfit = allocate("p", terms(moq=0, bulk_unit=10), [intent(0, 11, 19)])
    assert misfit.code == "no_bulk_fit"


def test_latest_joiner_left_out_when_crates_do_not_fit():
    outcome = allocate("p", terms(moq=0), [intent(0, 6, 6), intent(1, 4, 4), intent(2, 6, 6)])
    assert isinstance(outcome, Allocation) and outcome.total == 10 and outcome.left_out == ("i2",)
    priced = allocate("p", terms(), [intent(0, 50, 50, limit=700)])
    assert priced.code == "priced_out"


@pytest.mark.parametrize("change, code, path", [
    (dict(pickup_point="gate-9"), "bad_pickup", "pickup_point"),
    (dict(spec=ProductSpec(item_id="pear")), "wrong_product", "product"),
    (dict(window=(1_500.0, 2_100.0)), "bad_window", "window"),
    (dict(max_price=700), "price_too_low", "max_price"),
    (dict(min_quantity=0), "bad_quantity", "min_quantity"),
    (dict(min_quantity=-5), "bad_quantity", "min_quantity"),
    (dict(max_quantity=2), "bad_quantity", "max_quantity"),
])
def test_join_refusals_change_nothing(change, code, path):
    pool = Pool("p1", terms())
    pool.join(intent(0, 5, 10), now=0)
    with pytest.raises(PoolProblem) as info:
        pool.join(intent(1, 5, 10, **change), now=1)
    assert (info.value.code, info.value.path) == (code, path)
    assert list(pool.intents) == ["i0"]


def test_closed_pool_refuses_join_and_withdraw_and_double_withdraw():
    pool = Pool("p1", terms(max_quantity=20))
    pool.join(intent(0, 5, 10), now=0)
    pool.withdraw("i0", now=1)
    with pytest.raises(PoolProblem) as info:
        pool.withdraw("i0", now=2)
    assert info.value.code == "unknown_intent"
    pool.join(intent(1, 15, 20), now=3)
    with pytest.raises(PoolProblem) as info:
        pool.join(intent(2, 6, 6), now=4)
    assert info.value.code == "pool_full"
    with pytest.raises(PoolProblem) as info:
        pool.join(intent(3, 1, 1), now=500)  # at cut-off
    assert info.value.code == "pool_closed"
    pool.close()
    with pytest.raises(PoolProblem):
        pool.withdraw("i1", now=5)
    with pytest.raises(PoolProblem):
        pool.join(intent(4, 1, 1), now=6)


def test_early_close_on_target_quantity_and_turnover():
    pool = Pool("p1", terms(target_quantity=50))
    pool.join(intent(0, 10, 40), now=0)
    assert not pool.should_close(now=1)
    pool.join(intent(1, 10, 40), now=2)
    assert pool.should_close(now=3)  # 80 allocatable >= 50
    rich = Pool("p2", terms(target_turnover=30_000))  # 300.00 CNY
    rich.join(intent(0, 20, 30), now=0)
    assert not rich.should_close(now=1)  # 30 kg × 9.00 = 270.00
    rich.join(intent(1, 20, 40), now=2)
    assert rich.should_close(now=3)  # 70 kg × 8.50 = 595.00
    assert Pool("p3", terms()).should_close(now=500)  # cut-off


def test_terms_and_quantities_are_checked():
    with pytest.raises(PoolProblem):
        terms(tiers=(PriceTier(10, 900),))
    with pytest.raises(PoolProblem):
        terms(tiers=(PriceTier(0, 800), PriceTier(50, 850)))
    with pytest.raises(PoolProblem):
        terms(bulk_unit=0)
    assert to_steps("3", Decimal("0.5")) == 6
    for bad in ("2.3", "abc", "NaN", "Infinity"):
        with pytest.raises(PoolProblem):
            to_steps(bad, Decimal("0.5"))
