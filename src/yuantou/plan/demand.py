"""Demand as the planner takes it: confirmed order lines, and forecasts as quantiles turned into sales curves.

Shipping q units of a product to a region on a day where demand D is uncertain sells
E[min(q, D)] of them (the newsvendor's expected sales). With the demand's distribution
function F known at a few quantiles, and taken as linear between them (and from 0 at zero
demand), E[min(q, D)] = ∫₀^q (1 − F(x)) dx is concave and piecewise linear: segment j, from
one quantile to the next, sells ``1 − (α_{j−1} + α_j) / 2`` per unit shipped into it. Past
the last quantile a tail segment continues the last density up to F = 1. A forecast
without quantiles is taken as certain: its mean sells in full.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from yuantou.domain.twin import ForecastDemand, TwinError


@dataclass(frozen=True)
class ForecastTable:
    """Forecasts for the plan's days as arrays: one row per product × region × day."""

    product: np.ndarray  # (F,) product ids
    region: np.ndarray  # (F,) region ids
    day: np.ndarray  # (F,) days after the plan's start
    mean: np.ndarray  # (F,)
    levels: tuple[float, ...] = ()  # probabilities, ascending, in (0, 1)
    values: np.ndarray | None = None  # (F, len(levels)) demand quantiles

    @classmethod
    def from_records(cls, records: list[ForecastDemand], start: date) -> ForecastTable:
        levels = tuple(sorted(q for q, _ in records[0].quantiles)) if records else ()
        for i, r in enumerate(records):
            if tuple(sorted(q for q, _ in r.quantiles)) != levels:
                raise TwinError(f"forecast[{i}] ({r.product}, {r.region}, {r.day}): quantile levels "
                                f"{sorted(q for q, _ in r.quantiles)} differ from the first forecast's {list(levels)}")
        return cls(
            product=np.array([r.product for r in records], dtype=object),
            region=np.array([r.region for r in records], dtype=object),
            day=np.array([(r.day - start).days for r in records], dtype=np.int64),
            mean=np.array([r.mean for r in records], dtype=float),
            levels=levels,
            values=np.array([[v for _, v in sorted(r.quantiles)] for r in records], dtype=float).reshape(
                len(records), len(levels)),
        )

    def __len__(self) -> int:
        return len(self.mean)

    def sales_segments(self) -> tuple[np.ndarray, np.ndarray]:
        """(widths, sell-through) per forecast and segment, each (F, J): the concave sales curve above."""
        if not self.levels:
            return self.mean[:, None].clip(0), np.ones((len(self), 1))
        alphas = np.asarray(self.levels, dtype=float)
        if not ((alphas > 0) & (alphas < 1)).all():
            raise TwinError(f"forecast quantile levels must lie strictly between 0 and 1, got {list(self.levels)}")
        knots = np.maximum.accumulate(np.clip(np.asarray(self.values, dtype=float), 0, None), axis=1)
        knots = np.concatenate([np.zeros((len(self), 1)), knots], axis=1)
        probs = np.concatenate([[0.0], alphas])
        widths = np.diff(knots, axis=1)
        sell = 1 - (probs[:-1] + probs[1:]) / 2
        # the tail: the last segment's density carried on until F reaches 1
        last_gap = alphas[-1] - probs[-2]
        tail = widths[:, -1] * (1 - alphas[-1]) / last_gap
        widths = np.concatenate([widths, tail[:, None]], axis=1)
        sell = np.concatenate([sell, [(1 - alphas[-1]) / 2]])
        return widths, np.broadcast_to(sell, widths.shape)


def expected_sales(widths: np.ndarray, sell: np.ndarray, shipped: float) -> float:
    """E[min(q, D)] for one forecast's curve: fill the segments in order (what the LP does)."""
    filled = np.clip(shipped - np.concatenate([[0], np.cumsum(widths)[:-1]]), 0, widths)
    return float((filled * sell).sum())
