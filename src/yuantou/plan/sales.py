"""Forecast sales curves in the LP: one segment per forecast and quantile step, grouped into fewer columns.

Every forecast (product × region × day) contributes a concave sales curve of a few segments
(``demand.ForecastTable.sales_segments``); a big plan has millions of them, nearly all of
which the optimum fills completely or leaves empty. A *group* of segments that leave through
the same shipping row is one LP column whose width is theirs together and whose value per
unit is their width-weighted mean: any amount shipped into the group can be spread over its
segments in proportion, so the grouped LP is a restriction of the full one (its plans are
plans, and re-filling a group's amount best-segment-first only adds value). From the grouped
LP's row prices, the full LP's dual objective is a valid upper bound; groups whose segments
disagree in sign of reduced cost are split, and the loop ends when bound and plan meet. Segments
on capacitated lanes also enter the lane's row, so they stay single.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SalesPieces:
    """Every sales-curve segment the plan may ship into, as the full LP would have it (one column each)."""

    row: np.ndarray  # (E,) the shipping row (product × departure day) it leaves through
    lane_row: np.ndarray  # (E,) the lane-capacity row it also uses, or -1
    width: np.ndarray  # (E,) units it can take
    value: np.ndarray  # (E,) objective per unit shipped into it: price × sell-through − transport
    forecast: np.ndarray  # (E,) the forecast it belongs to
    through: np.ndarray  # (E,) expected units sold per unit shipped
    segment: np.ndarray  # (E,) its step on the forecast's curve (0 = most certain)

    def __len__(self) -> int:
        return len(self.width)

    def reduced_costs(self, row_duals: np.ndarray) -> np.ndarray:
        """c − Aᵀy per segment (its column has −1 in the shipping row, +1 in the lane row)."""
        rc = self.value + row_duals[self.row]
        on_lane = self.lane_row >= 0
        rc[on_lane] -= row_duals[self.lane_row[on_lane]]
        return rc


class Grouping:
    """A partition of the segments into LP columns: group g holds ``order[start[g]:start[g + 1]]``,
    best value first, all through one shipping row."""

    def __init__(self, pieces: SalesPieces, key: np.ndarray) -> None:
        self.pieces = pieces
        order = np.lexsort((-pieces.value, key))
        sorted_key = key[order]
        boundary = np.r_[True, sorted_key[1:] != sorted_key[:-1]] if len(order) else np.zeros(0, bool)
        self.order = order
        self.start = np.r_[np.nonzero(boundary)[0], len(order)].astype(np.int64)
        self.group_of_sorted = np.cumsum(boundary) - 1
        self.group_of = np.empty(len(order), dtype=np.int64)
        self.group_of[order] = self.group_of_sorted
        first = order[self.start[:-1]]
        self.row = pieces.row[first]
        self.lane_row = pieces.lane_row[first]
        self.width = np.bincount(self.group_of, pieces.width, len(self))
        self.value = np.bincount(self.group_of, pieces.width * pieces.value, len(self)) / np.maximum(self.width, 1e-300)

    def __len__(self) -> int:
        return len(self.start) - 1

    @classmethod
    def singletons(cls, pieces: SalesPieces) -> Grouping:
        """Every segment its own column: the full LP."""
        return cls(pieces, np.arange(len(pieces), dtype=np.int64))

    @classmethod
    def by_segment(cls, pieces: SalesPieces) -> Grouping:
        """The same step of every region's curve leaving on the same day, in one column (a few per row)."""
        single = pieces.lane_row >= 0
        steps = int(pieces.segment.max(initial=0)) + 1
        key = np.where(single, -1 - np.arange(len(pieces)), pieces.row * steps + pieces.segment)
        return cls(pieces, key)

    def fill(self, amounts: np.ndarray) -> np.ndarray:
        """Each group's amount spread best-segment-first: the segments' values, in the pieces' order."""
        widths = self.pieces.width[self.order]
        before = np.cumsum(widths) - widths
        before -= before[self.start[:-1]][self.group_of_sorted]
        filled = np.clip(amounts[self.group_of_sorted] - before, 0.0, widths)
        values = np.empty(len(widths))
        values[self.order] = filled
        return values

    def bound_gain(self, row_duals: np.ndarray, group_rc: np.ndarray) -> float:
        """How much higher the full LP's dual objective is than the grouped one's, at the same row prices."""
        rc = self.pieces.reduced_costs(row_duals)
        return float((self.pieces.width * np.maximum(rc, 0.0)).sum() - (self.width * np.maximum(group_rc, 0.0)).sum())

    def split(self, row_duals: np.ndarray, tolerance: float) -> tuple[Grouping, np.ndarray, np.ndarray] | None:
        """Split every group whose segments disagree (some worth shipping at these prices, some not).

        Returns the new grouping, each new group's old group, and which part of it the new one is
        (0: all of it, 1: the worth-shipping part of a split one, 2: the rest); None when no group needs
        splitting."""
        rc = self.pieces.reduced_costs(row_duals)
        positive = rc > tolerance
        has_positive = np.bincount(self.group_of, positive, len(self)) > 0
        has_rest = np.bincount(self.group_of, ~positive, len(self)) > 0
        torn = has_positive & has_rest
        if not torn.any():
            return None
        side = torn[self.group_of] & positive
        grouping = Grouping(self.pieces, self.group_of * 2 + side)
        first = grouping.order[grouping.start[:-1]]
        parent = self.group_of[first]
        return grouping, parent, np.where(torn[parent], np.where(side[first], 1, 2), 0)
