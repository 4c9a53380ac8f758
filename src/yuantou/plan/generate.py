"""A seeded, realistic-looking producer for benchmarks and demos: many products, lines, regions and days.

Products run on two of the resources each (a main line and an alternative, slower one),
about a third need setups with minimum batches, two in five are perishable (3–10 days);
lines are closed on Sundays; demand has a weekly rhythm and its quantiles come from a
normal spread clipped at zero; capacity is sized to about 85 % of expected demand so that
resources bind and shadow prices mean something; confirmed orders (a tenth of the first
ten days' demand) are within reach.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from yuantou.domain.twin import ConfirmedOrder, Lane, Product, Resource, Routing, Twin
from yuantou.plan.demand import ForecastTable
from yuantou.plan.model import PlanInput

LEVELS = (0.025, 0.1, 0.5, 0.9, 0.975)
Z = np.array([-1.959964, -1.281552, 0.0, 1.281552, 1.959964])


def generated_plan(products: int = 500, regions: int = 20, days: int = 28, resources: int = 10,
                   seed: int = 7, start: date = date(2026, 11, 30), load: float = 1.15) -> PlanInput:
    rng = np.random.default_rng(seed)
    price = rng.uniform(2, 10, products).round(2)
    use = rng.uniform(0.01, 0.05, products)
    main = rng.integers(0, resources, products)
    other = (main + rng.integers(1, resources, products)) % resources
    setups = rng.random(products) < 1 / 3
    perishable = rng.random(products) < 0.4
    shelf = rng.integers(3, 11, products)
    base = rng.gamma(2.0, 4.0, (products, regions))  # mean units per product, region and day
    rhythm = np.array([1.0, 0.9, 0.9, 1.0, 1.2, 1.4, 0.8])
    dates = [start + timedelta(days=t) for t in range(days)]
    weekday = np.array([d.weekday() for d in dates])
    mean = base[:, :, None] * rhythm[weekday][None, None, :]  # (P, G, T)
    hours = (mean.sum(axis=(1, 2)) * use)  # on the main line
    per_resource = np.bincount(main, weights=hours, minlength=resources) / (days * 6 / 7)
    capacity = np.maximum(per_resource / load, 1.0).round(1)
    twin = Twin(
        resources=tuple(Resource(f"line-{r:02d}", f"Line {r}", float(capacity[r]), weekly=(*[float(capacity[r])] * 6, 0.0))
                        for r in range(resources)),
        products=tuple(Product(
            id=f"sku-{p:04d}", name=f"Product {p}", unit="unit", price=float(price[p]),
            unit_cost=round(float(price[p] * rng.uniform(0.3, 0.6)), 2),
            routings=(Routing(f"line-{main[p]:02d}", float(use[p]), 0.5 if setups[p] else 0.0),
                      Routing(f"line-{other[p]:02d}", float(use[p] * 1.5), 0.5 if setups[p] else 0.0)),
            setup_cost=float(20 * price[p]) if setups[p] else 0.0, min_batch=50.0 if setups[p] else 0.0,
            yield_=round(float(rng.uniform(0.9, 1.0)), 3), lead_time=int(rng.integers(0, 3)),
            shelf_life=int(shelf[p]) if perishable[p] else None, holding_cost=float(price[p] * 0.01),
            disposal_cost=float(price[p] * 0.05)) for p in range(products)),
        lanes=tuple(Lane(f"region-{g:02d}", round(float(rng.uniform(0.1, 0.5)), 2), days=int(rng.integers(0, 3)))
                    for g in range(regions)),
    )
    spread = 0.35 * mean
    quantiles = np.clip(mean[..., None] + spread[..., None] * Z, 0, None)  # (P, G, T, 5)
    p_idx, g_idx, t_idx = np.meshgrid(np.arange(products), np.arange(regions), np.arange(days), indexing="ij")
    product_ids = np.array([p.id for p in twin.products], dtype=object)
    region_ids = np.array([lane.region for lane in twin.lanes], dtype=object)
    forecast = ForecastTable(product=product_ids[p_idx.ravel()], region=region_ids[g_idx.ravel()],
                             day=t_idx.ravel(), mean=mean.ravel(), levels=LEVELS, values=quantiles.reshape(-1, 5))
    orders = []
    lane_days = np.array([lane.days for lane in twin.lanes])
    for i in range(products * 4):
        p, g = int(rng.integers(products)), int(rng.integers(regions))
        t = int(rng.integers(lane_days[g] + 3, min(days, 10)))
        orders.append(ConfirmedOrder(f"order-{i}", product_ids[p], region_ids[g], dates[t],
                                     float(max(1.0, round(mean[p, g, t] * 0.4))), float(price[p])))
    return PlanInput(twin, start, days, tuple(orders), forecast)
