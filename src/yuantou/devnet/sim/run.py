"""One replay of a demand history: the same households, day by day, through the Yuantou network (real
nodes) and through the central-platform baseline (the same rules, no nodes, no pools)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from yuantou.devnet.sim.demand import Demand
from yuantou.devnet.sim.forecaster import SpotForecaster
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


class Forecaster(Protocol):
    """Where the network producers' on-the-day forecasts come from: the producer nodes
    (``replay.NodeForecasts``), or the same pipeline in-process (``forecaster.SpotForecaster``)."""

    fits: int
    models: dict[str, int]

    def quantile(self, day: int, product: int, probability: float) -> float: ...

    def observe(self, product: int, units: float) -> None: ...


class Pools(Protocol):
    """Where pools are bought: the demo's real nodes (``replay.DemoNetwork``), or a stand-in in tests."""

    def pool_day(self, day: int, asks: dict[tuple[int, int], list[int]]) -> dict[tuple[int, int], PoolBought]: ...

    def deliver(self, bought: dict[tuple[int, int], PoolBought]) -> None: ...


@dataclass
class Households:
    """Day t's households for each product and region: their asks, and which of them pre-order in a pool
    (seeded per cell, so that both markets and every rerun see the same households)."""

    pooled: dict[tuple[int, int], list[int]]
    on_the_day: np.ndarray  # units per product asked by households that do not pool

    @classmethod
    def of_day(cls, demand: Demand, t: int, market: Market) -> Households:
        pooled: dict[tuple[int, int], list[int]] = {}
        on_the_day = np.zeros(len(demand.products))
        for p in range(len(demand.products)):
            for r in range(len(demand.regions)):
                rng = np.random.default_rng([market.seed, t, p, r])
                asks = split_households(int(demand.units[t, p, r]), market.max_ask, rng)
                joins = rng.random(len(asks)) < market.pooled_share
                pooled[(p, r)] = [a for a, j in zip(asks, joins) if j]
                on_the_day[p] += sum(a for a, j in zip(asks, joins) if not j)
        return cls(pooled, on_the_day)


def capacities(demand: Demand, market: Market) -> np.ndarray:
    """Each product's daily capacity: the factor × its mean daily demand over the whole history (at least 1)."""
    mean = demand.units.sum(axis=2).mean(axis=0)
    return np.maximum(1, np.ceil(market.capacity_factor * mean)).astype(int)


@dataclass
class Replay:
    demand: Demand
    market: Market
    warmup: int
    days: int
    prices: Prices
    capacity: np.ndarray
    platform: Ledger
    network: Ledger
    spot_history: np.ndarray  # the warm-up's on-the-day units [day, product]: what producers have seen
    forecaster: Forecaster
    seconds: dict[str, float] = field(default_factory=dict)
    pools: dict[str, int] = field(default_factory=lambda: {"opened": 0, "bought": 0, "short": 0, "failed": 0})

    @property
    def labels(self) -> list[str]:
        return self.demand.periods[self.warmup:self.warmup + self.days]


def plan_replay(demand: Demand, market: Market, warmup: int, days: int | None, every: int = 7,
                season: int = 1) -> Replay:
    """Check the window and set up both markets (prices, capacity, the forecaster's history)."""
    periods = len(demand.periods)
    if not 0 < warmup < periods:
        raise ValueError(f"--warmup: must be between 1 and {periods - 1} (the demand has {periods} periods)")
    days = periods - warmup if days is None else days
    if not 0 < days <= periods - warmup:
        raise ValueError(f"--days: must be between 1 and {periods - warmup} after a warm-up of {warmup}")
    products = len(demand.products)
    history = np.array([Households.of_day(demand, t, market).on_the_day for t in range(warmup)])
    return Replay(demand, market, warmup, days, Prices.draw(market, products), capacities(demand, market),
                  Ledger(days, products), Ledger(days, products), history, SpotForecaster(history, every, season))


def run_replay(replay: Replay, pools: Pools, advance: Callable[[int], None] = lambda _: None,
               deliver: bool = True) -> Replay:
    """Every replayed day in both markets; ``advance(day)`` after each."""
    demand, market, prices = replay.demand, replay.market, replay.prices
    products = len(demand.products)
    platform_stock = [Stock() for _ in range(products)]
    network_stock = [Stock() for _ in range(products)]
    timings = {"pools": 0.0, "forecast": 0.0, "deliver": 0.0}
    for d in range(replay.days):
        t = replay.warmup + d
        households = Households.of_day(demand, t, market)
        started = time.perf_counter()
        bought = pools.pool_day(d, {k: v for k, v in households.pooled.items() if v})
        timings["pools"] += time.perf_counter() - started
        for pool in bought.values():
            replay.pools["opened"] += 1
            replay.pools["bought" if pool.bought == pool.asked else "short" if pool.bought else "failed"] += 1
        for p in range(products):
            mine = [pool for (q, _), pool in bought.items() if q == p]
            firm = sum(pool.bought for pool in mine)
            spot_demand = households.on_the_day[p] + sum(pool.asked - pool.bought for pool in mine)
            started = time.perf_counter()
            wanted = replay.forecaster.quantile(d, p, newsvendor_probability(float(prices.network[p]),
                                                                             float(prices.unit_cost[p])))
            timings["forecast"] += time.perf_counter() - started
            made = spot_production(math.floor(wanted + 0.5), network_stock[p].on_hand(d), replay.capacity[p] - firm)
            network_day(replay.network, network_stock[p], d, p, mine, spot_demand, made, prices, market)
            replay.forecaster.observe(p, spot_demand)
            yesterday = float(demand.units[t - 1, p].sum())  # the orders the platform passed on yesterday
            production = naive_production(yesterday, platform_stock[p].on_hand(d), float(replay.capacity[p]))
            platform_day(replay.platform, platform_stock[p], d, p, float(demand.units[t, p].sum()), production,
                         prices, market)
        if deliver:
            started = time.perf_counter()
            pools.deliver(bought)
            timings["deliver"] += time.perf_counter() - started
        advance(d)
    replay.seconds.update(timings)
    return replay
