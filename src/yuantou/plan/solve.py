"""Solving the production model on HiGHS and reading the plan back as tables a planner can read.

A feasible model gives the plan: what to start, where and when; what ships to which region
on which day; stock and what expires; each resource's use per day and its shadow price (what
one more unit of its capacity that day would add to the margin, from the LP with the batch
decisions fixed). A model whose confirmed orders cannot all be met is solved again with
shortfalls allowed at a prohibitive price, and the answer names each short order and the
rows that bind it: the resources full on the days that could have made it, a lane at its
capacity, or a lane too slow for the due date.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from yuantou.plan.improve import improve_by_product
from yuantou.plan.lp import LPSolution, PlanLP, highs, sales_columns
from yuantou.plan.matrix import LPData
from yuantou.plan.model import Infeasible, PlanInput, ProductionModel, build
from yuantou.plan.sales import Grouping

EPS = 1e-6
FIX_ABOVE_COLUMNS = 200_000
FIX_ABOVE_INTEGERS = 500  # batch decisions past which branch and bound stalls (measured: 948 took > 60 s)
# Branch and bound's budget when no time limit is given: below FIX_ABOVE_INTEGERS it can still stall (a generated
# 20-product plan, 392 batch decisions, was 4.9 % from its bound after 20 s and unfinished after 600 s), and a plan
# job must end. At the limit the best plan found is returned with status time_limit and its gap.
MIP_SECONDS = 60.0


@dataclass
class ProductionPlan:
    start: str
    days: int
    margin: float
    money: dict[str, float]  # revenue and each cost
    production: list[dict[str, Any]]
    shipments: list[dict[str, Any]]
    stock: list[dict[str, Any]]
    waste: list[dict[str, Any]]
    resources: list[dict[str, Any]]  # per resource and day: used, capacity, utilisation, shadow price
    offers: list[dict[str, Any]]  # per product and day: units the plan makes ready for new (forecast) demand
    fill_rate: dict[str, float | None]
    expected_waste: float
    status: str  # optimal | time_limit | relax_and_fix
    gap: float
    seconds: dict[str, float]
    size: dict[str, int]
    objective: float = float("nan")  # HiGHS's own value of the solution, which ``margin`` recomputes from the tables

    def summary(self) -> dict[str, Any]:
        return {"start": self.start, "days": self.days, "margin": self.margin, "money": self.money,
                "fill_rate": self.fill_rate, "expected_waste": self.expected_waste, "status": self.status,
                "gap": self.gap, "seconds": self.seconds, "size": self.size}

    def as_json(self) -> dict[str, Any]:
        return {**self.summary(), "production": self.production, "shipments": self.shipments, "stock": self.stock,
                "waste": self.waste, "resources": self.resources, "offers": self.offers}


@dataclass
class PlanInfeasible:
    """Why the confirmed orders cannot all be met: each short order and what binds it."""

    message: str
    shortfalls: list[dict[str, Any]] = field(default_factory=list)
    binding: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"status": "infeasible", "message": self.message, "shortfalls": self.shortfalls,
                "binding": self.binding}


def _mip(model: ProductionModel, time_limit: float | None, gap: float, threads: int | None
         ) -> tuple[highspy.Highs, LPData, float]:
    """The model as HiGHS's MIP, every sales segment its own column (exact; for plans small enough to branch on).
    Returns HiGHS after the run, the model's own LP (without the sales columns) and the seconds it took."""
    core = model.builder.finish()
    h = highs(time_limit, gap, threads)
    h.passModel(sales_columns(core, Grouping.singletons(model.sales)).highs(maximize=True))
    started = time.perf_counter()
    h.run()
    return h, core, time.perf_counter() - started


def _fixed_bounds(model: ProductionModel, core: LPData, opened: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Column and row bounds of the LP left when the batches are decided (``opened``, per route and day).

    Closed batches make nothing; open ones drop their batch link and the tight production
    bound (neither can bind at an optimum once the batch is paid for), so one more unit of
    a resource's capacity shows up as the dual of the capacity row it relaxes."""
    lower, upper = core.col_lower.copy(), core.col_upper.copy()
    row_lower, row_upper = core.row_lower, core.row_upper.copy()
    has_setup = model.setup >= 0
    lower[model.setup[has_setup]] = upper[model.setup[has_setup]] = opened[has_setup].astype(float)
    make_upper = np.where(model.make_upper > 0, highspy.kHighsInf, 0.0)
    make_upper[has_setup & ~opened] = 0.0
    upper[model.make] = make_upper
    row_upper[model.link_rows[has_setup & opened]] = highspy.kHighsInf
    return lower, upper, row_lower, row_upper


def _opened(model: ProductionModel, values: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    has_setup = model.setup >= 0
    opened = np.zeros(model.setup.shape, dtype=bool)
    opened[has_setup] = values[model.setup[has_setup]] >= threshold
    return opened


def _duals(model: ProductionModel, core: LPData, values: np.ndarray, threads: int | None) -> np.ndarray:
    """Row duals of the LP left when the batch decisions are fixed at the solution's values."""
    fixed = PlanLP(core, Grouping.by_segment(model.sales), threads).solve(
        *_fixed_bounds(model, core, _opened(model, values)))
    return fixed.row_duals if fixed is not None else np.full(core.num_rows, np.nan)


def _relax_and_fix(model: ProductionModel, threads: int | None, time_limit: float | None
                   ) -> tuple[LPSolution, float] | None:
    """For models too big to branch on: solve the LP relaxation (an upper bound on the margin), open the
    batches it uses, re-decide each product's batches with the rest held (``improve``), and solve the LP
    left with those batches. Returns that LP's solution and the bound, or None if no rounding gives a plan."""
    started = time.perf_counter()
    deadline = None if time_limit is None else started + time_limit

    def left() -> float | None:
        return None if deadline is None else deadline - time.perf_counter()

    core = model.builder.finish()
    lp = PlanLP(core, Grouping.by_segment(model.sales), threads)
    relaxed = lp.solve(time_limit=left())
    if relaxed is None:
        return None
    for threshold in (1e-6, 0.5, 0.1):  # opening everything the LP touched is the rounding most likely to be feasible
        fixed = lp.solve(*_fixed_bounds(model, core, _opened(model, relaxed.values, threshold)), time_limit=left())
        if fixed is not None:
            break
    else:
        return None
    grouping = lp.grouping
    owner = np.concatenate([model.column_products(), model.ship_product()[grouping.row]])
    x = np.concatenate([fixed.values, np.bincount(grouping.group_of, fixed.sold, len(grouping))])
    with_setups = np.unique(model.route_product[(model.setup >= 0).any(axis=1)])
    x, changed = improve_by_product(sales_columns(core, grouping), x, owner, with_setups, deadline, threads)
    if changed:
        better = lp.solve(*_fixed_bounds(model, core, _opened(model, x[:core.num_cols])), time_limit=left())
        if better is not None and better.margin > fixed.margin:
            fixed = better
    return fixed, relaxed.bound


def _without_branching(model: ProductionModel, has_integers: bool, threads: int | None, time_limit: float | None,
                       started: float) -> ProductionPlan | None:
    """Relax-and-fix (or, with no batch decisions, the LP itself, whose duals are then the shadow prices)."""
    solving = time.perf_counter()
    if has_integers:
        found = _relax_and_fix(model, threads, time_limit)
    else:
        core = model.builder.finish()
        lp = PlanLP(core, Grouping.by_segment(model.sales), threads).solve(
            *_fixed_bounds(model, core, np.zeros(model.setup.shape, dtype=bool)), time_limit=time_limit)
        found = (lp, lp.bound) if lp is not None else None
    if found is None:
        return None
    best, bound = found
    seconds = {"build": model.build_seconds, "solve": time.perf_counter() - solving, "shadow_prices": 0.0}
    plan = read_plan(model, best.values, best.sold, best.row_duals, "relax_and_fix" if has_integers else "optimal",
                     max(bound - best.margin, 0.0) / max(abs(bound), 1e-9), seconds, best.columns)
    plan.seconds["total"] = time.perf_counter() - started
    plan.objective = best.margin
    return plan


def solve(spec: PlanInput, time_limit: float | None = None, gap: float = 1e-4, threads: int | None = None,
          shadow_prices: bool = True, method: str = "auto") -> ProductionPlan | PlanInfeasible:
    """The margin-maximising plan, or why the confirmed orders cannot be met.

    ``method``: ``mip`` branches to the gap asked for; ``fix`` is relax-and-fix (for plans with
    hundreds of thousands of columns, where branch and bound cannot finish in a planner's
    minute: the plan's ``gap`` is then measured against the LP bound); ``auto`` picks ``fix``
    above FIX_ABOVE_INTEGERS batch decisions, or FIX_ABOVE_COLUMNS columns with any. Branch and bound without
    a ``time_limit`` stops after MIP_SECONDS with the best plan found."""
    started = time.perf_counter()
    try:
        model = build(spec)
    except Infeasible:
        return explain(spec, time_limit, threads)
    integers = model.builder.integer_columns()
    if method == "auto":
        method = "fix" if len(integers) > FIX_ABOVE_INTEGERS or (
            len(integers) and model.builder.num_cols + len(model.sales) > FIX_ABOVE_COLUMNS) else "mip"
    if method == "mip" and len(integers) and time_limit is None:
        time_limit = MIP_SECONDS
    if not len(integers) or method == "fix":
        plan = _without_branching(model, len(integers) > 0, threads, time_limit, started)
        if plan is not None:
            return plan
        if not len(integers):
            return explain(spec, time_limit, threads)
    h, core, solve_seconds = _mip(model, time_limit, gap, threads)
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kInfeasible:
        return explain(spec, time_limit, threads)
    if not h.getInfo().primal_solution_status:  # out of time before branch and bound found any plan:
        plan = _without_branching(model, True, threads, None, started)  # relax-and-fix finds one in seconds
        return plan or PlanInfeasible(f"HiGHS found no plan within the time limit ({time_limit} s; status "
                                      f"{h.modelStatusToString(status)})")
    x = np.asarray(h.getSolution().col_value)
    values, sold = x[:model.builder.num_cols], x[model.builder.num_cols:]
    duals_started = time.perf_counter()
    duals = _duals(model, core, values, threads) if shadow_prices else np.full(core.num_rows, np.nan)
    info = h.getInfo()
    mip_gap = float(info.mip_gap) if len(integers) else 0.0
    seconds = {"build": model.build_seconds, "solve": solve_seconds,
               "shadow_prices": time.perf_counter() - duals_started}
    plan = read_plan(model, values, sold, duals,
                     "optimal" if status == highspy.HighsModelStatus.kOptimal else "time_limit",
                     mip_gap if np.isfinite(mip_gap) else 0.0, seconds)
    plan.seconds["total"] = time.perf_counter() - started
    plan.objective = float(info.objective_function_value)
    return plan


def read_plan(model: ProductionModel, values: np.ndarray, sold: np.ndarray, duals: np.ndarray, status: str,
              gap: float, seconds: dict[str, float], lp_columns: int | None = None) -> ProductionPlan:
    """The plan's tables; ``lp_columns`` is how many columns HiGHS saw when sales segments were grouped."""
    spec, twin = model.spec, model.spec.twin
    products, resources, lanes = twin.products, twin.resources, twin.lanes
    T = spec.days
    day = [spec.day(t).isoformat() for t in range(T)]
    price = np.array([p.price for p in products])
    unit_cost = np.array([p.unit_cost for p in products])
    holding = np.array([p.holding_cost for p in products])
    disposal = np.array([p.disposal_cost for p in products])
    lane_cost = np.array([lane.cost_per_unit for lane in lanes])
    lane_days = np.array([lane.days for lane in lanes], dtype=np.int64)

    make = values[model.make]
    production = []
    for k, t in zip(*np.nonzero(make > EPS)):
        p = products[model.route_product[k]]
        ready = t + p.lead_time
        production.append({"product": p.id, "resource": resources[model.route_resource[k]].id, "day": day[t],
                           "started": round(float(make[k, t]), 6), "output": round(float(make[k, t]) * p.yield_, 6),
                           "ready": spec.day(ready).isoformat()})
    has_setup = model.setup >= 0
    setups = np.where(has_setup, values[np.where(has_setup, model.setup, 0)], 0.0)
    used = np.zeros_like(model.capacity)
    np.add.at(used, model.route_resource, make * model.route_use[:, None] + setups * model.route_setup_time[:, None])
    shadow = duals[model.capacity_rows]
    resource_rows = [{"resource": r.id, "day": day[t], "used": round(float(used[i, t]), 6),
                      "capacity": float(model.capacity[i, t]),
                      "utilisation": round(float(used[i, t] / model.capacity[i, t]), 6) if model.capacity[i, t] else None,
                      "shadow_price": None if np.isnan(shadow[i, t]) else round(float(shadow[i, t]), 6)}
                     for i, r in enumerate(resources) for t in range(T)]

    # shipments: confirmed orders leave on their departure day, forecast sales as the plan chose
    shipped_forecast = np.zeros(len(model.forecast_mean))
    expected = np.zeros(len(model.forecast_mean))
    np.add.at(shipped_forecast, model.sales.forecast, sold)
    np.add.at(expected, model.sales.forecast, sold * model.sales.through)
    keyed: dict[tuple[int, int, int], dict[str, float]] = {}
    for i, o in enumerate(model.orders):
        if model.order_depart[i] < 0:
            continue
        key = (int(model.order_product[i]), int(model.order_region[i]), int(model.order_depart[i]))
        keyed.setdefault(key, {"confirmed": 0.0, "forecast": 0.0, "expected_sales": 0.0})["confirmed"] += o.quantity
    for f in np.nonzero(shipped_forecast > EPS)[0]:
        key = (int(model.forecast_product[f]), int(model.forecast_region[f]),
               int(model.forecast_day[f] - lane_days[model.forecast_region[f]]))
        entry = keyed.setdefault(key, {"confirmed": 0.0, "forecast": 0.0, "expected_sales": 0.0})
        entry["forecast"] += float(shipped_forecast[f])
        entry["expected_sales"] += float(expected[f])
    shipments = [{"product": products[p].id, "region": lanes[g].region, "depart": day[t],
                  "arrive": spec.day(t + lanes[g].days).isoformat(),
                  **{k: round(v, 6) for k, v in entry.items()}} for (p, g, t), entry in sorted(keyed.items())]

    # stock and waste at the producer
    stock_values = values[model.stock]
    lot_left = np.zeros((len(model.lot_product), T))
    if len(model.lot_product):
        lot_out = values[model.lot]
        quantity = np.array([lot.quantity for lot in twin.stock if lot.quantity > 0])
        lot_left = quantity[:, None] - np.cumsum(lot_out, axis=1)
        lot_left[np.arange(T)[None, :] >= model.lot_days[:, None]] = 0.0
    on_hand = np.zeros((len(products), T))
    np.add.at(on_hand, model.slot_product, np.where(model.slot_expires[:, None], 0.0, stock_values))
    # what is left of an expiring lot at the end of its last day is waste (below), not stock (it pays that day's
    # holding all the same, as the model charges it)
    expired_today = model.lot_expires[:, None] & (np.arange(T)[None, :] == model.lot_days[:, None] - 1)
    np.add.at(on_hand, model.lot_product, np.where(expired_today, 0.0, lot_left))
    stock_rows = [{"product": products[p].id, "day": day[t], "on_hand": round(float(on_hand[p, t]), 6)}
                  for p, t in zip(*np.nonzero(on_hand > EPS))]
    expired = np.zeros((len(products), T))
    np.add.at(expired, model.slot_product[model.slot_expires], stock_values[model.slot_expires])
    for i in np.nonzero(model.lot_expires)[0].tolist():
        last = int(model.lot_days[i]) - 1
        if last >= 0:
            expired[model.lot_product[i], last] += float(quantity[i] - values[model.lot[i, :last + 1]].sum())
    waste = [{"product": products[p].id, "day": day[t], "where": "producer", "quantity": round(float(expired[p, t]), 6)}
             for p, t in zip(*np.nonzero(expired > EPS))]
    unsold = shipped_forecast - expected  # expected leftovers of forecast shipments at the pickup points
    perishable = np.array([p.shelf_life is not None for p in products], dtype=bool)
    leftover = np.zeros((len(products), T))
    if len(unsold):
        np.add.at(leftover, (model.forecast_product, np.clip(model.forecast_day, 0, T - 1)),
                  np.where(perishable[model.forecast_product], unsold, 0.0))
    waste += [{"product": products[p].id, "day": day[t], "where": "regions", "quantity": round(float(leftover[p, t]), 6)}
              for p, t in zip(*np.nonzero(leftover > EPS))]

    # money
    confirmed_qty = np.array([o.quantity for o in model.orders])
    confirmed_revenue = float(sum(o.quantity * o.price for o in model.orders))
    forecast_revenue = float((price[model.forecast_product] * expected).sum()) if len(expected) else 0.0
    transport = float((lane_cost[model.order_region] * confirmed_qty).sum()) if len(model.orders) else 0.0
    transport += float((lane_cost[model.forecast_region] * shipped_forecast).sum()) if len(shipped_forecast) else 0.0
    setup_cost = np.array([products[p].setup_cost for p in model.route_product])
    live = ~model.slot_expires
    held = float((holding[model.slot_product[live]][:, None] * stock_values[live]).sum())
    held += float((holding[model.lot_product][:, None] * lot_left).sum()) if len(model.lot_product) else 0.0
    money = {
        "revenue": confirmed_revenue + forecast_revenue,
        "production": float((unit_cost[model.route_product][:, None] * make).sum()),
        "setup": float((setup_cost[:, None] * setups).sum()),
        "transport": transport,
        "holding": held,
        "disposal": float((disposal[:, None] * expired).sum()),
    }
    money = {k: round(v, 6) for k, v in money.items()}
    margin = money["revenue"] - sum(v for k, v in money.items() if k != "revenue")

    # what the plan leaves for new orders: forecast shipments, by product and arrival day
    ready_for_sale = np.zeros((len(products), T))
    if len(shipped_forecast):
        np.add.at(ready_for_sale, (model.forecast_product, np.clip(model.forecast_day, 0, T - 1)), shipped_forecast)
    offers = [{"product": products[p].id, "day": day[t], "quantity": round(float(ready_for_sale[p, t]), 6)}
              for p, t in zip(*np.nonzero(ready_for_sale > EPS))]

    demand_mean = float(model.forecast_mean[(model.forecast_day < T)].sum()) if len(model.forecast_mean) else 0.0
    total_waste = float(expired.sum() + leftover.sum())
    return ProductionPlan(
        start=spec.start.isoformat(), days=T, margin=round(margin, 6), money=money, production=production,
        shipments=shipments, stock=stock_rows, waste=waste, resources=resource_rows, offers=offers,
        fill_rate={"confirmed": 1.0 if model.orders else None,
                   "forecast": round(float(expected.sum()) / demand_mean, 6) if demand_mean > 0 else None},
        expected_waste=round(total_waste, 6), status=status, gap=gap, seconds=seconds,
        size={"columns": model.builder.num_cols + len(model.sales), "lp_columns": lp_columns or
              model.builder.num_cols + len(model.sales), "rows": model.builder.num_rows,
              "integers": int(len(model.builder.integer_columns()))})


def explain(spec: PlanInput, time_limit: float | None, threads: int | None) -> PlanInfeasible:
    """Solve with shortfalls allowed and say which orders fall short and which rows bind them."""
    model = build(spec, elastic=True)
    h, core, _ = _mip(model, time_limit, 1e-4, threads)
    if not h.getInfo().primal_solution_status:
        return PlanInfeasible("the confirmed orders cannot all be met, and the diagnosis found no plan in time")
    values = np.asarray(h.getSolution().col_value)[:model.builder.num_cols]
    duals = _duals(model, core, values, threads)
    twin = spec.twin
    lanes, resources = twin.lanes, twin.resources
    short = values[model.short]
    binding: dict[tuple, dict[str, Any]] = {}
    shortfalls: list[dict[str, Any]] = []
    for i in np.nonzero(short > EPS)[0]:
        o = model.orders[i]
        p = twin.product(o.product)
        g = int(model.order_region[i])
        depart = int(model.order_depart[i])
        causes: list[dict[str, Any]] = []
        if depart < 0:
            causes.append({"kind": "lane_time", "lane": lanes[g].region, "days": lanes[g].days,
                           "detail": f"the lane to {lanes[g].region} takes {lanes[g].days} days; the plan starts "
                                     f"{spec.start}"})
        else:
            last_start = depart - p.lead_time
            if last_start < 0:
                causes.append({"kind": "lead_time", "product": p.id, "days": p.lead_time,
                               "detail": f"{p.id} takes {p.lead_time} days to make and must leave by "
                                         f"{spec.day(depart)}; only stock can serve it"})
            for r in {resources.index(twin.resource(x.resource)) for x in p.routings}:
                for t in range(0, max(last_start + 1, 0)):
                    dual = duals[model.capacity_rows[r, t]]
                    if dual > EPS and model.capacity[r, t] > 0:
                        causes.append({"kind": "resource", "resource": resources[r].id,
                                       "day": spec.day(t).isoformat()})
                    elif model.capacity[r, t] == 0:
                        causes.append({"kind": "resource_closed", "resource": resources[r].id,
                                       "day": spec.day(t).isoformat()})
            if g in model.lane_rows and duals[model.lane_rows[g][depart]] > EPS:
                causes.append({"kind": "lane_capacity", "lane": lanes[g].region, "day": spec.day(depart).isoformat(),
                               "capacity": lanes[g].capacity})
        for c in causes:
            key = tuple(sorted((k, str(v)) for k, v in c.items() if k != "detail"))
            binding.setdefault(key, c)
        shortfalls.append({"order": o.id, "product": o.product, "region": o.region, "due": o.due.isoformat(),
                           "quantity": o.quantity, "short": round(float(short[i]), 6), "causes": causes})
    lines = [f"{s['order']}: {s['short']:g} of {s['quantity']:g} {s['product']} for {s['region']} on {s['due']} "
             f"cannot be made: " + _causes_text(s["causes"]) for s in shortfalls]
    return PlanInfeasible("the confirmed orders cannot all be met:\n  " + "\n  ".join(lines) if lines
                          else "the confirmed orders cannot all be met", shortfalls, list(binding.values()))


def _causes_text(causes: list[dict[str, Any]]) -> str:
    if not causes:
        return "no single binding constraint found"
    parts: list[str] = []
    full: dict[str, list[dict[str, Any]]] = {}
    for c in causes:
        if c["kind"] == "resource":
            full.setdefault(c["resource"], []).append(c)
        elif c["kind"] == "resource_closed":
            continue
        elif c["kind"] == "lane_capacity":
            parts.append(f"the lane to {c['lane']} is full on {c['day']} ({c['capacity']:g} a day)")
        else:
            parts.append(c["detail"])
    for resource, cs in full.items():
        days = sorted(c["day"] for c in cs)
        span = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
        parts.append(f"{resource} is full on {span} ({len(days)} day{'s' if len(days) > 1 else ''})")
    return "; ".join(parts) if parts else "the resources that make it are closed on the days that could"
