"""The production and allocation model: one LP/MIP over the horizon, built with numpy straight into HiGHS.

Columns (all ≥ 0):
    make[k, t]    units started on route k (a product on a resource) on day t
    setup[k, t]   1 if route k runs a batch on day t (only for products with a setup cost, a
                  setup time or a minimum batch): make ≤ cap/use · setup, make ≥ min_batch · setup
    stock[s, t]   units in slot s at the end of day t; a slot is a product and, for perishables,
                  an age in days since the output was ready; what is left in the last age expires
    out[s, t]     units leaving slot s on day t
    lot[l, t]     units of stock lot l leaving on day t (until it expires)
    sell[e]       units shipped into segment e of a forecast's sales curve (see ``demand``), added by
                  ``sales`` in groups of segments, not here
    short[c]      units of confirmed order c not delivered (only in the diagnostic model)
Rows:
    capacity[r, t]   Σ use·make + setup_time·setup ≤ the resource's capacity that day
    flow[s, t]       stock = stock of the day before (one day younger) + output − out
    ship[p, t]       Σ out + Σ lot − Σ sell leaving that day = confirmed orders leaving that day
    lot_total[l]     Σ_t lot ≤ the lot's quantity
    lane[g, t]       forecast shipments leaving on lane g ≤ its capacity less confirmed ones
Objective (maximised): expected revenue − production − setup − transport − holding − disposal.
Confirmed orders are met in full (their revenue and transport are a constant); when they
cannot be, ``build(..., elastic=True)`` lets them fall short at a high price, and the binding
rows say why.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from yuantou.domain.twin import ConfirmedOrder, Twin, TwinError
from yuantou.plan.demand import ForecastTable
from yuantou.plan.matrix import ModelBuilder
from yuantou.plan.sales import SalesPieces


@dataclass(frozen=True)
class PlanInput:
    twin: Twin
    start: date
    days: int
    orders: tuple[ConfirmedOrder, ...] = ()
    forecast: ForecastTable | None = None

    def day(self, t: int) -> date:
        return self.start + timedelta(days=int(t))


@dataclass
class ProductionModel:
    """The built model and the index arrays that say what each column and row means."""

    builder: ModelBuilder
    spec: PlanInput
    orders: list[ConfirmedOrder]  # the confirmed orders due within the horizon
    route_product: np.ndarray
    route_resource: np.ndarray
    route_use: np.ndarray
    route_setup_time: np.ndarray
    capacity: np.ndarray  # (R, T)
    make: np.ndarray  # (K, T) column indices
    make_upper: np.ndarray  # (K, T) what one route could start in a day
    setup: np.ndarray  # (K, T) column index or -1
    link_rows: np.ndarray  # (K, T) the row make ≤ upper · setup, or -1
    slot_product: np.ndarray
    slot_expires: np.ndarray  # the slot whose leftovers expire each day
    stock: np.ndarray  # (S, T)
    out: np.ndarray  # (S, T)
    lot_product: np.ndarray
    lot_days: np.ndarray  # days each lot can still ship within the horizon
    lot_expires: np.ndarray  # True where the lot expires within the horizon
    lot: np.ndarray  # (L, T)
    sales: SalesPieces  # the forecasts' sales-curve segments, columns only once grouped (``sales``)
    forecast_product: np.ndarray  # (F,) product index
    forecast_region: np.ndarray  # (F,) lane index
    forecast_day: np.ndarray  # (F,) arrival day
    forecast_mean: np.ndarray
    short: np.ndarray  # (C,) column indices, or empty
    order_product: np.ndarray
    order_region: np.ndarray
    order_depart: np.ndarray
    capacity_rows: np.ndarray  # (R, T)
    ship_rows: np.ndarray  # (P, T) what leaves each product's dock each day
    lane_rows: dict[int, np.ndarray]  # lane index → (T,) rows, for lanes with a capacity
    build_seconds: float = 0.0

    @property
    def products(self) -> list[str]:
        return [p.id for p in self.spec.twin.products]

    def column_products(self) -> np.ndarray:
        """The product each of the model's own columns belongs to (every column belongs to one)."""
        owner = np.full(self.builder.num_cols, -1, dtype=np.int64)
        has_setup = self.setup >= 0
        owner[self.make] = self.route_product[:, None]
        owner[self.setup[has_setup]] = np.broadcast_to(self.route_product[:, None], self.setup.shape)[has_setup]
        owner[self.stock] = owner[self.out] = self.slot_product[:, None]
        owner[self.lot] = self.lot_product[:, None]
        if len(self.short):
            owner[self.short] = self.order_product
        return owner

    def ship_product(self) -> np.ndarray:
        """Per row, the product whose dock it is if it is a shipping row, else -1."""
        owner = np.full(self.builder.num_rows, -1, dtype=np.int64)
        owner[self.ship_rows] = np.arange(len(self.ship_rows))[:, None]
        return owner


def _index(names: list[str]) -> dict[str, int]:
    return {name: i for i, name in enumerate(names)}


def _lookup(table: dict[str, int], keys: np.ndarray, what: str) -> np.ndarray:
    """Map ids to indices in one pass over the distinct ids, naming the first unknown one."""
    distinct, inverse = np.unique(keys.astype(str), return_inverse=True)
    missing = [k for k in distinct if k not in table]
    if missing:
        raise TwinError(f"{what} {missing[0]!r} is not in the twin")
    return np.array([table[k] for k in distinct], dtype=np.int64)[inverse] if len(keys) else np.zeros(0, np.int64)


def build(spec: PlanInput, elastic: bool = False, shortfall_penalty: float | None = None) -> ProductionModel:
    started = time.perf_counter()
    twin, T = spec.twin, spec.days
    if T < 1:
        raise TwinError("the plan needs at least one day")
    products, resources, lanes = twin.products, twin.resources, twin.lanes
    P, R = len(products), len(resources)
    product_at, resource_at, region_at = _index([p.id for p in products]), _index([r.id for r in resources]), \
        _index([lane.region for lane in lanes])
    m = ModelBuilder()

    price = np.array([p.price for p in products], dtype=float)
    unit_cost = np.array([p.unit_cost for p in products], dtype=float)
    setup_cost = np.array([p.setup_cost for p in products], dtype=float)
    min_batch = np.array([p.min_batch for p in products], dtype=float)
    yields = np.array([p.yield_ for p in products], dtype=float)
    lead = np.array([p.lead_time for p in products], dtype=np.int64)
    holding = np.array([p.holding_cost for p in products], dtype=float)
    disposal = np.array([p.disposal_cost for p in products], dtype=float)
    lane_days = np.array([lane.days for lane in lanes], dtype=np.int64)
    lane_cost = np.array([lane.cost_per_unit for lane in lanes], dtype=float)
    days = [spec.day(t) for t in range(T)]
    capacity = np.array([[r.capacity_on(d) for d in days] for r in resources], dtype=float).reshape(R, T)

    # -- demand ------------------------------------------------------------------------------
    orders = [o for o in spec.orders if 0 <= (o.due - spec.start).days < T]
    for o in orders:
        if o.product not in product_at:
            raise TwinError(f"confirmed order {o.id}: product {o.product!r} is not in the twin")
        if o.region not in region_at:
            raise TwinError(f"confirmed order {o.id}: no lane delivers to region {o.region!r}")
    order_product = np.array([product_at[o.product] for o in orders], dtype=np.int64)
    order_region = np.array([region_at[o.region] for o in orders], dtype=np.int64)
    order_quantity = np.array([o.quantity for o in orders], dtype=float)
    order_price = np.array([o.price for o in orders], dtype=float)
    order_due = np.array([(o.due - spec.start).days for o in orders], dtype=np.int64)
    order_depart = order_due - lane_days[order_region] if len(orders) else np.zeros(0, np.int64)
    on_time = order_depart >= 0
    if not elastic and not on_time.all():
        late = orders[int(np.argmin(on_time))]
        raise Infeasible(f"confirmed order {late.id} is due at {late.region} on {late.due}, but the lane there "
                         f"takes {lanes[region_at[late.region]].days} days from the plan's start {spec.start}")
    need = np.zeros((P, T))
    np.add.at(need, (order_product[on_time], order_depart[on_time]), order_quantity[on_time])
    forecast = spec.forecast
    if forecast is not None and len(forecast):
        f_product = _lookup(product_at, forecast.product, "forecast product")
        f_region = _lookup(region_at, forecast.region, "forecast region")
        f_day = forecast.day.astype(np.int64)
        widths, through = forecast.sales_segments()
        f_depart = f_day - lane_days[f_region]
        usable = (f_day < T) & (f_depart >= 0)
        f_idx, j_idx = np.nonzero((widths > 1e-9) & usable[:, None])
        sell_through = through[f_idx, j_idx]
        f_mean = forecast.mean
    else:
        f_product = f_region = f_day = f_depart = np.zeros(0, np.int64)
        f_idx = j_idx = np.zeros(0, np.int64)
        widths = np.zeros((0, 1))
        sell_through = np.zeros(0)
        f_mean = np.zeros(0)
    # the most that could leave each day: confirmed orders and every forecast segment in full
    demand_bound = need.copy()
    np.add.at(demand_bound, (f_product[f_idx], f_depart[f_idx]), widths[f_idx, j_idx])

    # -- production ------------------------------------------------------------------------
    routes = [(product_at[p.id], resource_at[r.resource], r.use, r.setup_time) for p in products for r in p.routings]
    route_product = np.array([r[0] for r in routes], dtype=np.int64)
    route_resource = np.array([r[1] for r in routes], dtype=np.int64)
    route_use = np.array([r[2] for r in routes], dtype=float)
    route_setup_time = np.array([r[3] for r in routes], dtype=float)
    K = len(routes)
    t_grid = np.arange(T)
    ready = t_grid[None, :] + lead[route_product][:, None]  # (K, T) the day the output can ship
    room = np.clip(capacity[route_resource] - route_setup_time[:, None], 0, None)
    # a day's batch is worth making only up to what it can still sell before it expires (or the minimum batch):
    # the tighter bound is also the big-M of the batch link, which is what makes the MIP solvable
    shelf_days = np.array([p.shelf_life if p.shelf_life is not None else T for p in products], dtype=np.int64)
    reach = np.concatenate([np.zeros((P, 1)), np.cumsum(demand_bound, axis=1)], axis=1)  # (P, T + 1)
    first = np.clip(ready, 0, T)
    last = np.clip(ready + shelf_days[route_product][:, None], 0, T)
    sellable = reach[route_product[:, None], last] - reach[route_product[:, None], first]
    useful = np.maximum(sellable / yields[route_product][:, None], min_batch[route_product][:, None])
    make_upper = np.where(ready < T, np.minimum(room / route_use[:, None], useful), 0.0)
    make = m.columns((K, T), upper=make_upper, cost=-unit_cost[route_product][:, None])
    capacity_rows = m.rows((R, T), upper=capacity)
    m.add(capacity_rows[route_resource], make, route_use[:, None])

    needs_setup = np.array([products[p].needs_setup for p in route_product], dtype=bool)
    setup = np.full((K, T), -1, dtype=np.int64)
    link_rows = np.full((K, T), -1, dtype=np.int64)
    k_setup = np.nonzero(needs_setup)[0]
    if len(k_setup):
        cols = m.columns((len(k_setup), T), upper=(make_upper[k_setup] > 0).astype(float),
                         cost=-setup_cost[route_product[k_setup]][:, None], integer=True)
        setup[k_setup] = cols
        m.add(capacity_rows[route_resource[k_setup]], cols, route_setup_time[k_setup][:, None])
        link = m.rows((len(k_setup), T), upper=0.0)  # make ≤ upper · setup
        link_rows[k_setup] = link
        m.add(link, make[k_setup])
        m.add(link, cols, -make_upper[k_setup])
        batch = min_batch[route_product[k_setup]]
        has_batch = batch > 0
        if has_batch.any():
            kb = k_setup[has_batch]
            floor = m.rows((len(kb), T), lower=0.0)  # make ≥ min_batch · setup
            m.add(floor, make[kb])
            m.add(floor, setup[kb], -batch[has_batch][:, None])

    # -- stock by age ------------------------------------------------------------------------
    shelf = np.array([p.shelf_life if p.shelf_life is not None else 0 for p in products], dtype=np.int64)
    expiring = np.array([p.shelf_life is not None and p.shelf_life < T for p in products], dtype=bool)
    ages = np.where(expiring, shelf, 1)
    slot_product = np.repeat(np.arange(P), ages)
    first_slot = np.concatenate([[0], np.cumsum(ages)[:-1]]).astype(np.int64)
    slot_age = np.arange(len(slot_product)) - first_slot[slot_product]
    S = len(slot_product)
    last = slot_age == ages[slot_product] - 1
    slot_expires = last & expiring[slot_product]
    stock_cost = np.where(slot_expires, -disposal[slot_product], -holding[slot_product])
    stock = m.columns((S, T), cost=stock_cost[:, None])
    out = m.columns((S, T))
    flow = m.rows((S, T), lower=0.0, upper=0.0)
    m.add(flow, stock)
    m.add(flow, out)
    # output enters the youngest slot on the day it is ready
    k_grid, t_start = np.nonzero(ready < T)
    m.add(flow[first_slot[route_product[k_grid]], ready[k_grid, t_start]], make[k_grid, t_start],
          -yields[route_product[k_grid]])
    # yesterday's stock moves one day older (or stays, in a slot that does not age)
    older = slot_age > 0
    stays = ~expiring[slot_product]
    s_prev = np.nonzero(older | stays)[0]
    prev_of = np.where(older[s_prev], s_prev - 1, s_prev)
    m.add(flow[s_prev, 1:], stock[prev_of, :-1], -1.0)

    # -- stock lots ---------------------------------------------------------------------------
    lots = [lot for lot in twin.stock if lot.quantity > 0]
    lot_product = np.array([product_at[lot.product] for lot in lots], dtype=np.int64)
    lot_quantity = np.array([lot.quantity for lot in lots], dtype=float)
    lot_days = np.array([T if lot.expires is None else min(T, (lot.expires - spec.start).days + 1) for lot in lots],
                        dtype=np.int64)
    lot_expires = np.array([lot.expires is not None and (lot.expires - spec.start).days + 1 <= T for lot in lots],
                           dtype=bool)
    L = len(lots)
    # leaving on day t saves holding until the lot's last day and, if it expires here, its disposal
    lot_gain = holding[lot_product][:, None] * (lot_days[:, None] - t_grid[None, :]) \
        + np.where(lot_expires, disposal[lot_product], 0.0)[:, None]
    lot = m.columns((L, T), upper=np.where(t_grid[None, :] < lot_days[:, None], lot_quantity[:, None], 0.0),
                    cost=lot_gain)
    lot_total = m.rows((L,), upper=lot_quantity)
    m.add(lot_total[:, None], lot)
    m.offset -= float((holding[lot_product] * lot_quantity * np.clip(lot_days, 0, None)).sum()
                      + (disposal[lot_product] * lot_quantity * lot_expires).sum())

    # -- deliveries ---------------------------------------------------------------------------
    ship = m.rows((P, T), lower=need, upper=need)  # what leaves each day is what is sold or ordered
    m.add(ship[slot_product], out)
    m.add(ship[lot_product], lot)
    m.offset += float(((order_price - lane_cost[order_region]) * order_quantity).sum())

    short = np.zeros(0, np.int64)
    if elastic and len(orders):
        penalty = shortfall_penalty if shortfall_penalty is not None else _penalty(products, lane_cost)
        # an order its lane cannot reach in time falls short in full
        short = m.columns((len(orders),), lower=np.where(on_time, 0.0, order_quantity), upper=order_quantity,
                          cost=-(penalty + order_price - lane_cost[order_region]))
        ok = np.nonzero(on_time)[0]
        m.add(ship[order_product[ok], order_depart[ok]], short[ok])

    # forecast sales are not columns yet: their segments (millions, in a big plan) are grouped by ``sales``
    lane_row = np.full(len(f_idx), -1, dtype=np.int64)

    # -- lane capacity ---------------------------------------------------------------------------
    lane_rows: dict[int, np.ndarray] = {}
    for g, lane in enumerate(lanes):
        if lane.capacity is None:
            continue
        confirmed = np.zeros(T)
        mine = (order_region == g) & on_time
        np.add.at(confirmed, order_depart[mine], order_quantity[mine])
        rows = m.rows((T,), upper=lane.capacity - confirmed)
        lane_rows[g] = rows
        on_lane = f_region[f_idx] == g
        lane_row[on_lane] = rows[f_day[f_idx[on_lane]] - lane_days[g]]
        if len(short):
            m.add(rows[order_depart[mine]], short[mine], -1.0)

    sales = SalesPieces(row=ship[f_product[f_idx], f_depart[f_idx]].astype(np.int64), lane_row=lane_row,
                        width=widths[f_idx, j_idx], forecast=f_idx, through=sell_through, segment=j_idx,
                        value=price[f_product[f_idx]] * sell_through - lane_cost[f_region[f_idx]])
    model = ProductionModel(
        builder=m, spec=spec, orders=orders, route_product=route_product, route_resource=route_resource,
        route_use=route_use, route_setup_time=route_setup_time, capacity=capacity, make=make,
        make_upper=make_upper, setup=setup, link_rows=link_rows,
        slot_product=slot_product, slot_expires=slot_expires, stock=stock, out=out, lot_product=lot_product,
        lot_days=lot_days, lot_expires=lot_expires, lot=lot, sales=sales, forecast_product=f_product,
        forecast_region=f_region, forecast_day=f_day,
        forecast_mean=f_mean, short=short, order_product=order_product, order_region=order_region,
        order_depart=order_depart, capacity_rows=capacity_rows, ship_rows=ship, lane_rows=lane_rows)
    model.build_seconds = time.perf_counter() - started
    return model


def _penalty(products: tuple, lane_cost: np.ndarray) -> float:
    """A shortfall price no saving can beat: above any unit's price plus every cost it could avoid."""
    worst = max((p.price + p.unit_cost / p.yield_ + p.setup_cost + p.holding_cost + p.disposal_cost
                 for p in products), default=1.0)
    return 100.0 * (worst + float(lane_cost.max(initial=0.0)) + 1.0)


class Infeasible(TwinError):
    """Confirmed orders that no plan can meet, before any solving (a lane too slow for a due date)."""
