"""The rules both markets in the demo follow, day by day, on the same demand and the same capacity.

Central platform (the baseline): each producer makes its naive forecast of the product (the
orders it received through the platform yesterday), less the stock it still holds, up to its
capacity; households buy at the platform's price; the platform keeps a commission.

Yuantou network: households who pre-order join pools at their organiser's node the day
before; pools that reach their minimum batch are bought point to point from the producer,
which makes them to order (firm demand, C2M). The other households, and those whose pool
failed or could not be bought, buy on the day from the producer's own stock, which it makes
from its forecast of that spot demand (the newsvendor quantile of the forecast: the share
of a unit's price that is margin). The organiser keeps a fee for the pickup point.

Units left past their shelf life are wasted, in both markets. Everything is a parameter
(``Market``), and every one is a flag of ``yuantou demo``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np


@dataclass(frozen=True)
class Market:
    commission: float = 0.20  # the platform's cut of the consumer price
    producer_markup: float = 0.10  # network price = what the platform paid the producer × (1 + markup)
    organiser_fee: float = 0.05  # the organiser's cut, on top of a pool's price
    pool_discount: float = 0.05  # a pool of tier_quantity units or more pays this much less per unit
    tier_quantity: int = 20
    moq: int = 3  # a pool's minimum batch (units); a smaller pool fails and its households buy on the day
    pooled_share: float = 0.8  # households that pre-order through a pool; the others buy on the day
    max_ask: int = 3  # a household asks for 1 to max_ask units
    capacity_factor: float = 1.2  # a producer's daily capacity per product: factor × mean daily demand
    cost_share: float = 0.5  # making a unit costs this share of the platform's price
    shelf_life: int = 1  # days a unit can be sold (1: what is not sold the day it is made is wasted)
    price_min: float = 20.0  # platform prices are drawn uniformly between these (seeded)
    price_max: float = 120.0
    seed: int = 7

    def problems(self) -> list[str]:
        out = []
        for name in ("commission", "organiser_fee", "pool_discount", "pooled_share", "cost_share"):
            if not 0 <= getattr(self, name) < 1:
                out.append(f"--{name.replace('_', '-')}: must be at least 0 and below 1")
        if self.producer_markup < 0:
            out.append("--producer-markup: must be 0 or more")
        for name in ("moq", "max_ask", "shelf_life", "tier_quantity"):
            if getattr(self, name) < 1:
                out.append(f"--{name.replace('_', '-')}: must be at least 1")
        if self.capacity_factor <= 0:
            out.append("--capacity-factor: must be above 0")
        if not 0 < self.price_min <= self.price_max:
            out.append("--price-min/--price-max: need 0 < min ≤ max")
        return out

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Prices:
    """Per product: what the platform charges, what a network producer charges (alone and in a big pool),
    what a pooled household pays, and what making a unit costs."""

    platform: np.ndarray
    network: np.ndarray
    network_tier: np.ndarray
    unit_cost: np.ndarray

    @classmethod
    def draw(cls, market: Market, products: int) -> Prices:
        rng = np.random.default_rng(market.seed + 1)
        platform = np.round(rng.uniform(market.price_min, market.price_max, products) * 2) / 2
        network = np.round(platform * (1 - market.commission) * (1 + market.producer_markup), 2)
        return cls(platform, network, np.round(network * (1 - market.pool_discount), 2),
                   np.round(platform * market.cost_share, 2))

    def pooled_consumer(self, market: Market) -> tuple[np.ndarray, np.ndarray]:
        """What a household pays per unit in a pool: below and at the tier."""
        fee = 1 + market.organiser_fee
        return np.round(self.network * fee, 2), np.round(self.network_tier * fee, 2)


def split_households(units: int, max_ask: int, rng: np.random.Generator) -> list[int]:
    """``units`` as households' asks of 1..max_ask (the last takes what is left)."""
    asks = []
    left = int(units)
    while left > 0:
        ask = min(left, int(rng.integers(1, max_ask + 1)))
        asks.append(ask)
        left -= ask
    return asks


@dataclass
class Stock:
    """Units on hand in lots that can be sold until a last day; sold oldest first."""

    lots: deque = field(default_factory=deque)  # (last day it can be sold, units)

    def add(self, day: int, units: float, shelf_life: int) -> None:
        if units > 0:
            self.lots.append((day + shelf_life - 1, float(units)))

    def on_hand(self, day: int) -> float:
        return sum(q for last, q in self.lots if last >= day)

    def sell(self, day: int, wanted: float) -> float:
        sold = 0.0
        for i, (last, q) in enumerate(self.lots):
            if last < day or sold >= wanted:
                continue
            take = min(q, wanted - sold)
            self.lots[i] = (last, q - take)
            sold += take
        self.lots = deque(lot for lot in self.lots if lot[1] > 1e-9)
        return sold

    def expire(self, day: int) -> float:
        """Throw away what cannot be sold after ``day``; returns the units wasted."""
        wasted = sum(q for last, q in self.lots if last <= day)
        self.lots = deque(lot for lot in self.lots if lot[0] > day)
        return wasted


FIELDS = ("demand", "delivered", "produced", "wasted", "consumer_spend", "producer_revenue", "production_cost",
          "pooled_demand", "pooled_delivered")


@dataclass
class Ledger:
    """One market's daily totals (per product), from which the report's figures are computed."""

    days: int
    products: int
    series: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in FIELDS:
            self.series.setdefault(name, np.zeros((self.days, self.products)))

    def add(self, name: str, day: int, product: int, value: float) -> None:
        self.series[name][day, product] += value

    def total(self, name: str) -> float:
        return float(self.series[name].sum())

    def summary(self) -> dict[str, float | None]:
        t = {name: self.total(name) for name in FIELDS}
        ratio = lambda a, b: t[a] / t[b] if t[b] else None  # noqa: E731
        return {
            "fill_rate": ratio("delivered", "demand"), "units_wasted": t["wasted"],
            "waste_share": ratio("wasted", "produced"), "producer_share": ratio("producer_revenue", "consumer_spend"),
            "consumer_unit_price": ratio("consumer_spend", "delivered"),
            "producer_margin": t["producer_revenue"] - t["production_cost"],
            "demand": t["demand"], "delivered": t["delivered"], "produced": t["produced"],
            "consumer_spend": t["consumer_spend"], "producer_revenue": t["producer_revenue"],
        }


def naive_production(yesterday_orders: float, on_hand: float, capacity: float) -> float:
    """The baseline producer: make what was ordered yesterday, less what is still on hand."""
    return float(min(capacity, max(0.0, yesterday_orders - on_hand)))


def newsvendor_probability(price: float, unit_cost: float) -> float:
    """For a unit sold today or wasted: stock up to the demand quantile at margin / price."""
    return max(0.0, min(1.0, (price - unit_cost) / price)) if price > 0 else 0.0


def spot_production(forecast_quantile: float, on_hand: float, capacity_left: float) -> float:
    """The network producer's make-to-stock part: its forecast quantile, less stock, within what the pooled
    orders left of its capacity."""
    return float(min(max(0.0, capacity_left), max(0.0, forecast_quantile - on_hand)))


def platform_day(ledger: Ledger, stock: Stock, day: int, product: int, demand: float, production: float,
                 prices: Prices, market: Market) -> None:
    """One baseline day of one product: make, sell at the platform's price, throw away what expired."""
    stock.add(day, production, market.shelf_life)
    sold = stock.sell(day, demand)
    price = float(prices.platform[product])
    ledger.add("demand", day, product, demand)
    ledger.add("delivered", day, product, sold)
    ledger.add("produced", day, product, production)
    ledger.add("consumer_spend", day, product, sold * price)
    ledger.add("producer_revenue", day, product, sold * price * (1 - market.commission))
    ledger.add("production_cost", day, product, production * float(prices.unit_cost[product]))
    ledger.add("wasted", day, product, stock.expire(day))


@dataclass(frozen=True)
class PoolBought:
    """What the network did with one pool: units households asked, units bought, at which producer price."""

    asked: int
    bought: int
    producer_price: float
    orders: tuple = ()  # (producer, order id) of the orders that bought it


def network_day(ledger: Ledger, stock: Stock, day: int, product: int, pools: list[PoolBought], spot_demand: float,
                spot_made: float, prices: Prices, market: Market) -> None:
    """One network day of one product: pooled units made to order and handed out, the rest sold on the
    day from stock at the producer's own price, then what expired thrown away. ``spot_demand`` already
    counts the households whose pool did not buy for them."""
    fee = 1 + market.organiser_fee
    bought = sum(p.bought for p in pools)
    stock.add(day, spot_made, market.shelf_life)
    sold = stock.sell(day, spot_demand)
    price = float(prices.network[product])
    pooled_asked = sum(p.asked for p in pools)
    ledger.add("demand", day, product, spot_demand + bought)  # the spot demand holds the pooled units not bought
    ledger.add("pooled_demand", day, product, pooled_asked)
    ledger.add("pooled_delivered", day, product, bought)
    ledger.add("delivered", day, product, bought + sold)
    ledger.add("produced", day, product, bought + spot_made)
    pooled_revenue = sum(p.bought * p.producer_price for p in pools)
    ledger.add("producer_revenue", day, product, pooled_revenue + sold * price)
    ledger.add("consumer_spend", day, product, pooled_revenue * fee + sold * price)
    ledger.add("production_cost", day, product, (bought + spot_made) * float(prices.unit_cost[product]))
    ledger.add("wasted", day, product, stock.expire(day))
