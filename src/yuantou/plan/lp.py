"""The production model's LP on HiGHS, with forecast sales grouped (``sales``) and regrouped until exact.

Each round solves the grouped LP from the last round's basis, reads the plan off it (groups
re-filled best segment first), prices every single segment at the round's row duals for an
upper bound on the full LP, and splits the groups whose segments disagree. It stops when the
plan is within ``tolerance`` of the bound: the full LP's optimum, at a fraction of its columns.
A split group keeps its basis status in one part (the basis matrix is unchanged: every part
has the same column), so the next round starts where the last one ended.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import highspy
import numpy as np

from yuantou.plan.highs import quiet_highs
from yuantou.plan.matrix import LPData
from yuantou.plan.sales import Grouping

LOWER, BASIC, UPPER = 0, 1, 2
_STATUS = {int(v): v for v in highspy.HighsBasisStatus.__members__.values()}


@dataclass
class LPSolution:
    values: np.ndarray  # the model's own columns
    sold: np.ndarray  # units shipped into each sales segment
    row_duals: np.ndarray
    margin: float  # the objective of this plan (segments filled best first)
    bound: float  # the full LP's optimum is at most this
    rounds: int
    iterations: int
    columns: int  # in the last grouped LP
    seconds: float


def highs(time_limit: float | None = None, gap: float = 1e-4, threads: int | None = None) -> highspy.Highs:
    h = quiet_highs()
    h.setOptionValue("mip_rel_gap", gap)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    return h


def sales_columns(core: LPData, grouping: Grouping) -> LPData:
    """The core LP with one column per group: −1 in its shipping row, +1 in its lane row if it has one."""
    on_lane = grouping.lane_row >= 0
    counts = 1 + on_lane.astype(np.int64)
    start = np.r_[0, np.cumsum(counts)]
    index = np.empty(start[-1], dtype=np.int64)
    value = np.empty(start[-1])
    first = start[:-1]
    lane_first = on_lane & (grouping.lane_row < grouping.row)  # entries in ascending row order
    index[first] = np.where(lane_first, grouping.lane_row, grouping.row)
    value[first] = np.where(lane_first, 1.0, -1.0)
    second = first[on_lane] + 1
    index[second] = np.where(lane_first[on_lane], grouping.row[on_lane], grouping.lane_row[on_lane])
    value[second] = np.where(lane_first[on_lane], -1.0, 1.0)
    return core.with_columns(np.zeros(len(grouping)), grouping.width, grouping.value, start, index, value)


class PlanLP:
    """Solves the production LP (integers relaxed) under changing column and row bounds, warm."""

    def __init__(self, core: LPData, grouping: Grouping, threads: int | None = None) -> None:
        self.core, self.grouping, self.threads = core, grouping, threads
        self.basis: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # core columns, groups, rows

    def solve(self, col_lower: np.ndarray | None = None, col_upper: np.ndarray | None = None,
              row_lower: np.ndarray | None = None, row_upper: np.ndarray | None = None,
              tolerance: float = 1e-7, time_limit: float | None = None, max_rounds: int = 30) -> LPSolution | None:
        """The LP optimum under these bounds (None if infeasible or out of time)."""
        started = time.perf_counter()
        given: dict[str, Any] = {"col_lower": col_lower, "col_upper": col_upper, "row_lower": row_lower,
                                 "row_upper": row_upper}
        bounded = replace(self.core, **{k: v for k, v in given.items() if v is not None})
        n = bounded.num_cols
        iterations = 0
        for rounds in range(1, max_rounds + 1):  # noqa: B007 (read after the loop)
            left = None if time_limit is None else time_limit - (time.perf_counter() - started)
            h = highs(left, threads=self.threads)
            h.passModel(sales_columns(bounded, self.grouping).highs(maximize=True, integer=False))
            if self.basis is not None:
                h.setBasis(self._highs_basis())
            h.run()
            iterations += int(h.getInfo().simplex_iteration_count)
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None  # the last good basis is kept for the next bounds
            solution = h.getSolution()
            x, duals = np.asarray(solution.col_value), np.asarray(solution.row_dual)
            group_rc = np.asarray(solution.col_dual)[n:]
            objective = float(h.getInfo().objective_function_value)
            sold = self.grouping.fill(x[n:])
            margin = objective + float(sold @ self.grouping.pieces.value - x[n:] @ self.grouping.value)
            bound = objective + self.grouping.bound_gain(duals, group_rc)
            self._keep_basis(h.getBasis(), n)
            if bound - margin <= tolerance * max(1.0, abs(bound)):
                break
            split = self.grouping.split(duals, tolerance)
            if split is None:
                break
            self._regroup(*split)
        return LPSolution(x[:n], sold, duals, margin, max(bound, margin), rounds, iterations, len(x),
                          time.perf_counter() - started)

    def _keep_basis(self, basis: highspy.HighsBasis, n: int) -> None:
        cols = np.fromiter(map(int, basis.col_status), dtype=np.int8, count=len(basis.col_status))
        rows = np.fromiter(map(int, basis.row_status), dtype=np.int8, count=len(basis.row_status))
        self.basis = (cols[:n], cols[n:], rows)

    def _regroup(self, grouping: Grouping, parent: np.ndarray, part: np.ndarray) -> None:
        """Carry each old group's status to its parts: an untouched group keeps it; of a torn one, the
        worth-shipping part sits at its width and the rest at zero, or stays basic if the group was."""
        self.grouping = grouping
        if self.basis is None:
            return
        core, groups, rows = self.basis
        old = groups[parent]
        status = np.where(part == 0, old, np.where(part == 1, UPPER, np.where(old == BASIC, BASIC, LOWER)))
        self.basis = (core, status.astype(np.int8), rows)

    def _highs_basis(self) -> highspy.HighsBasis:
        assert self.basis is not None  # called only once a basis is kept
        core, groups, rows = self.basis
        basis = highspy.HighsBasis()
        basis.col_status = [_STATUS[v] for v in np.concatenate([core, groups]).tolist()]
        basis.row_status = [_STATUS[v] for v in rows.tolist()]
        basis.valid = True
        return basis
