"""Replaying demand through real nodes: producers' catalogs, organisers' pools, orders point to point.

Each simulated day is a one-hour delivery slot starting tomorrow (real time), so every
pool, offer and order is an ordinary one the nodes check as they always do. Per day, and
per region at once (one organiser node per region): households join pools over the
organiser's API, the organiser closes them, and its procurement buys each pooled total from
the producer with signed Beckn messages; the producer then delivers what it sold (an
unsolicited on_status back). Both ledgers record all of it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np

from yuantou.devnet.client import NodeClient
from yuantou.devnet.localnet import LocalNetwork, Proc
from yuantou.devnet.sim.demand import Demand
from yuantou.devnet.sim.forecaster import PROBABILITIES, Refitted
from yuantou.devnet.sim.market import Market, PoolBought, Prices

ON_THE_DAY = "on-the-day"  # the region a producer's own shop sales are imported under

SLOT = timedelta(hours=1)
HOUSEHOLDS_AT_ONCE = 8  # concurrent joins per organiser (its node group-commits them)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ReplayError(RuntimeError):
    pass


@dataclass
class Slots:
    """Simulated day k ↔ a real delivery window (one hour, from tomorrow)."""

    first: datetime

    @classmethod
    def from_now(cls) -> Slots:
        now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        return cls(now + timedelta(days=1))

    def window(self, day: int) -> tuple[datetime, datetime]:
        start = self.first + day * SLOT
        return start, start + SLOT - timedelta(minutes=5)


@dataclass
class DemoNetwork:
    """The demo's nodes: a directory, one producer per group of products, one organiser per region."""

    net: LocalNetwork
    demand: Demand
    market: Market
    prices: Prices
    capacity: np.ndarray  # units per day, per product
    days: int  # replayed days (slots)
    producers: list[Proc] = field(default_factory=list)
    organisers: list[Proc] = field(default_factory=list)
    owner: list[int] = field(default_factory=list)  # product → index of its producer
    slots: Slots = field(default_factory=Slots.from_now)

    def products_of(self, k: int) -> list[int]:
        """The products producer k makes."""
        return [p for p, owner in enumerate(self.owner) if owner == k]

    def catalog(self, k: int) -> dict:
        """Producer k's catalog: its products at its own price, its capacity in every day's slot, and
        the pooling terms (bulk unit 1, the MOQ, the tier discount)."""
        items = []
        for p in self.products_of(k):
            product = self.demand.products[p]
            windows = [{"id": f"day-{d + 1:03d}", "start": iso(self.slots.window(d)[0]),
                        "end": iso(self.slots.window(d)[1]), "capacity": float(self.capacity[p])}
                       for d in range(self.days)]
            items.append({"id": product, "name": f"{product} (demand of real car parts)", "category": "parts",
                          "unit": "unit", "price": float(self.prices.network[p]), "currency": "CNY",
                          "windows": windows, "bulk_unit": "1", "moq": str(self.market.moq),
                          "tiers": [{"min_quantity": str(self.market.tier_quantity),
                                     "price": str(float(self.prices.network_tier[p]))}]})
        return {"provider": {"id": f"producer-{k + 1}-provider", "name": f"Producer {k + 1}"}, "items": items}

    def start(self, producers: int, advance: Callable[[], None]) -> None:
        self.net.start_directory()
        advance()
        self.owner = [p % producers for p in range(len(self.demand.products))]
        for k in range(producers):  # started side by side: each takes seconds to import and migrate
            self.producers.append(self.net.add_node(f"producer-{k + 1}", ["producer"], self.catalog(k),
                                                    extra={"provider_name": f"Producer {k + 1}"}, wait=False))
        for region in self.demand.regions:
            self.organisers.append(self.net.add_node(f"community-{region}", ["buyer"], wait=False))
        self.net.wait_started(self.producers + self.organisers, lambda _: advance())
        for organiser in self.organisers:  # each organiser learns the producers' catalogs (and pooling terms)
            with organiser.client() as api:
                sent = api.post("/search", json={"query": ""}).json()
                deadline = time.monotonic() + 20
                while len(api.get(f"/messages/{sent['message_id']}",
                                  params={"wait": 2, "count": producers}).json()) < producers:
                    if time.monotonic() > deadline:
                        raise ReplayError(f"{organiser.name} did not receive every producer's catalog in 20 s")

    def pool_day(self, day: int, asks: dict[tuple[int, int], list[int]]) -> dict[tuple[int, int], PoolBought]:
        """Day ``day``'s pools in every region at once: asks[(product, region)] are the pooling households'
        units. Returns what each pool bought."""
        with ThreadPoolExecutor(len(self.organisers)) as pool:
            parts = pool.map(lambda r: self._region_day(day, r, {p: a for (p, rr), a in asks.items() if rr == r}),
                             range(len(self.organisers)))
            out: dict[tuple[int, int], PoolBought] = {}
            for part in parts:
                out.update(part)
        return out

    def _region_day(self, day: int, region: int, asks: dict[int, list[int]]) -> dict[tuple[int, int], PoolBought]:
        organiser = self.organisers[region]
        start, end = self.slots.window(day)
        now = datetime.now(UTC)
        point = f"{self.demand.regions[region]}-pickup"
        below, at_tier = self.prices.pooled_consumer(self.market)
        opened: dict[int, str] = {}
        with organiser.client(timeout=60) as api:
            for p, household_asks in asks.items():
                if not household_asks:
                    continue
                resp = api.post("/pools", json={
                    "item_id": self.demand.products[p], "pickup_points": [point], "window_start": iso(start),
                    "window_end": iso(end), "cutoff": iso(now + timedelta(hours=2)), "unit": "unit", "step": "1",
                    "bulk_unit": "1", "moq": str(self.market.moq), "currency": "CNY",
                    "tiers": [{"min_quantity": "0", "price": f"{below[p]:.2f}"},
                              {"min_quantity": str(self.market.tier_quantity), "price": f"{at_tier[p]:.2f}"}]})
                _ok(resp, f"{organiser.name}: open a pool")
                opened[p] = resp.json()["pool_id"]
            joins = [{"household": f"{point}-d{day + 1}-{p}-{n}", "item_id": self.demand.products[p],
                      "min_quantity": str(units), "max_quantity": str(units), "max_price": f"{below[p]:.2f}",
                      "pickup_point": point, "window_start": iso(now), "window_end": iso(end + timedelta(hours=1)),
                      "pool_id": pool_id}
                     for p, pool_id in opened.items() for n, units in enumerate(asks[p])]
            phones = threading.local()  # one client per thread: one shared by 8 threads once failed (EBADF) under load

            def post(path: str, body: dict | None = None) -> httpx.Response:
                if not hasattr(phones, "api"):
                    phones.api = organiser.client(timeout=60)
                    opened_clients.append(phones.api)
                return phones.api.post(path, json=body)
            opened_clients: list[httpx.Client] = []
            with ThreadPoolExecutor(HOUSEHOLDS_AT_ONCE) as households:  # as households do: many at once
                for joined in households.map(lambda body: post("/intents", body), joins):
                    _ok(joined, f"{organiser.name}: a household joins")
                for closed in households.map(lambda pool_id: post(f"/pools/{pool_id}/close"), opened.values()):
                    _ok(closed, f"{organiser.name}: close a pool")
            for client in opened_clients:
                client.close()
            return {(p, region): self._bought(api, organiser, pool_id, sum(asks[p])) for p, pool_id in opened.items()}

    def _bought(self, api: httpx.Client, organiser: Proc, pool_id: str, asked: int,
                timeout: float = 60) -> PoolBought:
        """Wait until the pool is bought (or not); what it bought and at which producer price."""
        deadline = time.monotonic() + timeout
        while True:
            pool = api.get(f"/pools/{pool_id}").json()
            state = (pool.get("procurement") or {}).get("state")
            if pool["status"] == "failed" or state in ("ordered", "unsourced"):
                break
            if time.monotonic() > deadline:
                raise ReplayError(f"{organiser.name}: pool {pool_id} not bought within {timeout:.0f} s ({state})")
            time.sleep(0.05)
        orders = [o for o in (pool.get("procurement") or {}).get("orders", []) if o["stage"] == "confirmed"]
        bought = sum(int(float(o["quantity"])) for o in orders)
        price = (sum(float(o["unit_price"]) * float(o["quantity"]) for o in orders) / bought) if bought else 0.0
        return PoolBought(asked, bought, price, tuple((o["producer"], o["order_id"]) for o in orders))

    def deliver(self, bought: dict[tuple[int, int], PoolBought]) -> None:
        """Each producer hands over the day's pooled orders: Delivered, told to the organiser by on_status."""
        by_producer: dict[str, list[str]] = {}
        for pool in bought.values():
            for producer_id, order_id in pool.orders:
                by_producer.setdefault(producer_id, []).append(order_id)
        procs = {p.subscriber_id: p for p in self.producers}

        def hand_over(producer_id: str) -> None:
            with procs[producer_id].client() as api:
                for order_id in by_producer[producer_id]:
                    _ok(api.post(f"/orders/{order_id}/fulfillment", json={"state": "Delivered"}),
                        f"{producer_id}: deliver an order")

        with ThreadPoolExecutor(max(1, len(by_producer))) as deliveries:
            list(deliveries.map(hand_over, by_producer))


class NodeForecasts(Refitted):
    """The network producers' forecasts of their on-the-day sales, made by each producer node's own C2M jobs.

    Simulated day k of the demand is the calendar day ``first_day + k`` on the nodes (so the
    history lies in the past). At the start each producer imports the warm-up history; at every
    refit it imports what it has seen since, runs ``POST /api/forecast/run`` as of that day, and
    then ``POST /api/plan/run`` over the refit's days (its dashboard shows both). The simulator
    reads the forecast's quantiles back from ``GET /api/forecast``.
    """

    def __init__(self, network: DemoNetwork, history: np.ndarray, warmup: int, every: int = 7) -> None:
        super().__init__(every)
        self.network, self.warmup = network, warmup
        self.first_day = datetime.now(UTC).date() - timedelta(days=len(network.demand.periods) + 7)
        self._observed: dict[int, int] = {}  # product → simulated day of its next observation
        products = network.demand.products
        self._history = {p: [(k, float(history[k, p])) for k in range(history.shape[0])] for p in range(len(products))}
        self._twins_sent = False

    def twin(self, k: int) -> dict:
        """Producer k's capacity twin: one line per product, its daily capacity in units, sold on the day."""
        net = self.network
        mine = net.products_of(k)
        return {"resources": [{"id": f"{net.demand.products[p]}-line", "capacity": float(net.capacity[p]),
                               "unit": "unit"} for p in mine],
                "products": [{"id": net.demand.products[p], "unit": "unit", "price": float(net.prices.network[p]),
                              "unit_cost": float(net.prices.unit_cost[p]), "shelf_life": net.market.shelf_life,
                              "routings": [{"resource": f"{net.demand.products[p]}-line", "use": 1}]} for p in mine],
                "lanes": [{"region": ON_THE_DAY, "cost_per_unit": 0, "days": 0}]}

    def observe(self, product: int, units: float) -> None:
        day = self._observed.get(product, self.warmup)
        self._history[product].append((day, float(units)))
        self._observed[product] = day + 1

    def _fit(self, day: int) -> None:
        net = self.network
        as_of = self.first_day + timedelta(days=self.warmup + day)
        table = {p: np.zeros((self.every, len(net.demand.products))) for p in PROBABILITIES}

        def refit(k: int) -> list[dict]:
            mine = net.products_of(k)
            rows = [{"product": net.demand.products[p], "region": ON_THE_DAY,
                     "day": (self.first_day + timedelta(days=d)).isoformat(), "quantity": units}
                    for p in mine for d, units in self._history[p]]
            producer = NodeClient(net.producers[k].url, net.producers[k].token, timeout=300)
            try:
                if not self._twins_sent:
                    producer.put("/api/twin", self.twin(k))
                producer.post("/api/demand/history", rows)
                producer.wait_job(producer.post("/api/forecast/run", {"horizon": self.every, "levels": [50, 80],
                                                                      "as_of": as_of.isoformat()}), 300)
                forecast = producer.get("/api/forecast")
                producer.wait_job(producer.post("/api/plan/run", {"days": self.every, "start": as_of.isoformat()}), 300)
            finally:
                producer.close()
            return forecast["series"]

        with ThreadPoolExecutor(len(net.producers)) as pool:
            for series in pool.map(refit, range(len(net.producers))):
                for s in series:
                    product, _, region = s["id"].partition("/")
                    if region != ON_THE_DAY or product not in net.demand.products:
                        continue
                    p = net.demand.products.index(product)
                    self.models[s["model"]] = self.models.get(s["model"], 0) + 1
                    for q in PROBABILITIES:
                        values = s["quantiles"].get(str(q)) or s["mean"]  # 0.5 only if a level asked for it
                        table[q][:, p] = np.maximum(0.0, np.asarray(values[:self.every], dtype=float))
        for p in range(len(net.demand.products)):
            self._history[p] = []  # imported: the node keeps them
        self._twins_sent = True
        self.quantiles = table


def _ok(resp: httpx.Response, what: str) -> None:
    if resp.status_code >= 400:
        raise ReplayError(f"{what}: HTTP {resp.status_code}: {resp.text[:300]}")
