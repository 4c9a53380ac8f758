"""The demo's market rules, property-tested: nothing made is lost from the books, nobody gets more than
they asked, shares and prices stay where their definitions put them, and demand is mapped as documented."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yuantou.devnet.sim.demand import DemandFileError, carparts, carparts_path, read_long, read_wide
from yuantou.devnet.sim.market import (
    Ledger,
    Market,
    PoolBought,
    Prices,
    Stock,
    naive_production,
    network_day,
    newsvendor_probability,
    platform_day,
    split_households,
    spot_production,
)
from yuantou.devnet.sim.run import Households, plan_replay, run_replay


@given(st.integers(0, 500), st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_households_ask_exactly_the_units(units, max_ask, seed):
    asks = split_households(units, max_ask, np.random.default_rng(seed))
    assert sum(asks) == units and all(1 <= a <= max_ask for a in asks)


@given(st.lists(st.tuples(st.sampled_from(["add", "sell", "expire"]), st.integers(0, 50)), max_size=40),
       st.integers(1, 4))
def test_stock_never_creates_or_loses_units(steps, shelf_life):
    stock, added, sold, wasted = Stock(), 0.0, 0.0, 0.0
    for day, (what, n) in enumerate(steps):
        if what == "add":
            stock.add(day, n, shelf_life)
            added += n
        elif what == "sell":
            got = stock.sell(day, n)
            assert 0 <= got <= n
            sold += got
        else:
            wasted += stock.expire(day)
        assert all(last >= 0 and q > 0 for last, q in stock.lots)
    assert added == pytest.approx(sold + wasted + sum(q for _, q in stock.lots))


def test_stock_sells_oldest_first_and_wastes_what_expires():
    stock = Stock()
    stock.add(0, 10, shelf_life=2)  # sellable on days 0 and 1
    stock.add(1, 5, shelf_life=2)  # days 1 and 2
    assert stock.sell(1, 12) == 12 and stock.on_hand(1) == 3
    assert stock.expire(1) == 0  # the old lot is gone already; 3 of the new one can still sell tomorrow
    assert stock.expire(2) == 3


@given(st.floats(0, 1000), st.floats(0, 1000), st.floats(0, 1000))
def test_production_rules_stay_within_capacity(forecast, on_hand, capacity):
    assert 0 <= naive_production(forecast, on_hand, capacity) <= capacity
    assert 0 <= spot_production(forecast, on_hand, capacity) <= capacity
    assert naive_production(forecast, on_hand, capacity) == pytest.approx(min(capacity, max(0, forecast - on_hand)))


@given(st.floats(0.01, 1000), st.floats(0, 2000))
def test_newsvendor_probability_is_the_margin_share(price, cost):
    p = newsvendor_probability(price, cost)
    assert 0 <= p <= 1 and (cost >= price) == (p == 0)


market_strategy = st.builds(Market, commission=st.floats(0, 0.5), producer_markup=st.floats(0, 0.5),
                            organiser_fee=st.floats(0, 0.3), pool_discount=st.floats(0, 0.3),
                            cost_share=st.floats(0.1, 0.9), shelf_life=st.integers(1, 3), seed=st.integers(0, 99))


@settings(max_examples=60, deadline=None)
@given(market_strategy, st.lists(st.tuples(st.integers(0, 40), st.integers(0, 60), st.integers(0, 40)),
                                 min_size=1, max_size=8))
def test_both_markets_keep_their_books(market, days):
    """Delivered ≤ asked, made = delivered + wasted + left, spend ≥ revenue ≥ 0 on every path."""
    prices = Prices.draw(market, 1)
    platform, network = Ledger(len(days), 1), Ledger(len(days), 1)
    ps, ns = Stock(), Stock()
    for d, (asked, made, pooled) in enumerate(days):
        platform_day(platform, ps, d, 0, asked, made, prices, market)
        bought = min(pooled, 30)
        pools = [PoolBought(pooled, bought, float(prices.network_tier[0]))]
        network_day(network, ns, d, 0, pools, asked + pooled - bought, made, prices, market)
    for ledger, stock in ((platform, ps), (network, ns)):
        s = ledger.summary()
        assert s["delivered"] <= s["demand"] + 1e-9
        left = sum(q for _, q in stock.lots)
        assert s["produced"] == pytest.approx(s["delivered"] + s["units_wasted"] + left)
        assert s["consumer_spend"] >= s["producer_revenue"] - 1e-6 >= -1e-6
        if s["producer_share"] is not None:
            assert 0 <= s["producer_share"] <= 1 + 1e-9
    if platform.summary()["producer_share"] is not None:
        assert platform.summary()["producer_share"] == pytest.approx(1 - market.commission)


def test_prices_follow_their_definitions():
    market = Market(commission=0.2, producer_markup=0.1, pool_discount=0.05, organiser_fee=0.05)
    prices = Prices.draw(market, 50)
    assert np.all((prices.platform >= market.price_min) & (prices.platform <= market.price_max))
    assert np.allclose(prices.network, prices.platform * 0.8 * 1.1, atol=0.01)
    below, at_tier = prices.pooled_consumer(market)
    assert np.all(at_tier < below) and np.allclose(below, prices.network * 1.05, atol=0.01)


def test_carparts_mapping_keeps_every_unit_and_is_seeded():
    periods, parts, values = read_wide(carparts_path())
    assert len(parts) == 2674 and len(periods) == 51
    demand = carparts(products=5, regions=4, seed=11)
    assert demand.units.shape == (51, 5, 4)
    assert np.array_equal(demand.units.sum(axis=(1, 2)), values.sum(axis=1))  # each month's units, all kept
    assert np.array_equal(demand.units, carparts(products=5, regions=4, seed=11).units)
    assert not np.array_equal(demand.units, carparts(products=5, regions=4, seed=12).units)


def test_households_are_the_same_in_both_markets_and_reruns():
    demand = carparts(products=3, regions=2)
    market = Market(pooled_share=0.5)
    a, b = Households.of_day(demand, 20, market), Households.of_day(demand, 20, market)
    assert a.pooled == b.pooled and np.array_equal(a.on_the_day, b.on_the_day)
    for p in range(3):
        pooled = sum(sum(a.pooled[(p, r)]) for r in range(2))
        assert pooled + a.on_the_day[p] == demand.units[20, p].sum()


def test_long_csv_is_read_and_each_problem_named(tmp_path):
    good = tmp_path / "sales.csv"
    good.write_text("date,region,product,quantity\n2026-01-01,north,apples,5\n2026-01-02,south,pears,3\n"
                    "2026-01-02,north,apples,0\n")
    demand = read_long(good)
    assert demand.periods == ["2026-01-01", "2026-01-02"] and demand.products == ["apples", "pears"]
    assert demand.units[0, 0, 0] == 5 and demand.units[1, 1, 1] == 3 and demand.total() == 8
    cases = {
        "date,region,item,quantity\n": "sales.csv:1: the header must be exactly date,region,product,quantity",
        "date,region,product,quantity\n2026-01-01,north,apples,lots\n": "sales.csv:2: column 'quantity': 'lots' is not a number",
        "date,region,product,quantity\n2026-01-01,north,apples,2.5\n": "sales.csv:2: column 'quantity': '2.5' must be a whole",
        "date,region,product,quantity\n2026-01-01,north,apples,-1\n": "sales.csv:2: column 'quantity': '-1'",
        "date,region,product,quantity\n2026-01-01,,apples,1\n": "sales.csv:2: column 'region' is empty",
        "date,region,product,quantity\na,b,c,1\na,b,c,2\n": "sales.csv:3: a, b, c is given twice (first on line 2)",
        "date,region,product,quantity\n": "sales.csv: no rows after the header",
    }
    for text, message in cases.items():
        good.write_text(text)
        with pytest.raises(DemandFileError) as err:
            read_long(good)
        assert str(err.value).startswith(str(tmp_path / message)) or message in str(err.value), str(err.value)
    with pytest.raises(DemandFileError, match="cannot read"):
        read_long(tmp_path / "missing.csv")


class InMemoryPools:
    """Pools bought up to each product's capacity, as a producer node would accept them (for the replay's
    own bookkeeping; the demo's end-to-end test runs the real nodes)."""

    def __init__(self, replay):  # noqa: ANN001
        self.replay, self.delivered = replay, 0

    def pool_day(self, day, asks):  # noqa: ANN001, ANN201
        left = dict(enumerate(self.replay.capacity))
        out = {}
        for (p, r), household_asks in sorted(asks.items()):
            asked = sum(household_asks)
            bought = 0 if asked < self.replay.market.moq else min(asked, left[p])
            left[p] -= bought
            out[(p, r)] = PoolBought(asked, int(bought), float(self.replay.prices.network[p]))
        return out

    def deliver(self, bought):  # noqa: ANN001
        self.delivered += len(bought)


def test_a_replay_serves_the_same_demand_in_both_markets():
    replay = plan_replay(carparts(products=4, regions=2), Market(), warmup=24, days=10, every=5)
    pools = InMemoryPools(replay)
    seen = []
    run_replay(replay, pools, advance=seen.append)
    assert seen == list(range(10)) and pools.delivered > 0
    demand = replay.demand.units[24:34].sum()
    assert replay.platform.total("demand") == replay.network.total("demand") == demand
    assert replay.pools["opened"] == replay.pools["bought"] + replay.pools["short"] + replay.pools["failed"] > 0
    assert replay.forecaster.fits == 2  # refitted every 5 days
    for ledger in (replay.platform, replay.network):
        s = ledger.summary()
        assert 0 < s["fill_rate"] <= 1 and (ledger.series["produced"] <= replay.capacity + 1e-9).all()
    with pytest.raises(ValueError, match="--days"):
        plan_replay(replay.demand, Market(), warmup=24, days=40)
    with pytest.raises(ValueError, match="--warmup"):
        plan_replay(replay.demand, Market(), warmup=51, days=None)
