"""Which producers supply which pools, network-wide: a capacitated facility-location MIP on HiGHS.

Where ``sourcing.source`` buys one pool's total, this assigns many pools (customers) to
many producers (facilities) at once, so that producers' shared capacity is respected
and the fixed cost of using a producer (a delivery run, a setup) is paid once:

    minimise   Σ_i f_i y_i + Σ_ij c_ij x_ij
    subject to Σ_i x_ij = 1                  every pool fully served
               Σ_j d_j x_ij <= s_i y_i       capacity, and only from producers in use
               x_ij <= y_i                   (the strong linking: a far tighter LP bound)
               Σ_i s_i y_i >= Σ_j d_j        (an aggregate cover cut: fewer branches)
               y binary; x in [0, 1], or binary when each pool must come from one producer

``c_ij`` is the cost of serving *all* of pool j from producer i (OR-Library's convention).
The matrix is built with numpy and scipy.sparse and handed to HiGHS in one call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from yuantou.plan.highs import quiet_highs


@dataclass(frozen=True)
class Network:
    capacity: np.ndarray  # (m,) per producer
    fixed_cost: np.ndarray  # (m,) paid once if the producer is used
    demand: np.ndarray  # (n,) per pool
    cost: np.ndarray  # (m, n) cost of serving all of pool j from producer i

    def __post_init__(self) -> None:
        m, n = self.cost.shape
        if self.capacity.shape != (m,) or self.fixed_cost.shape != (m,) or self.demand.shape != (n,):
            raise ValueError(f"shapes disagree: cost {self.cost.shape}, capacity {self.capacity.shape}, "
                             f"fixed cost {self.fixed_cost.shape}, demand {self.demand.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.cost.shape


@dataclass(frozen=True)
class NetworkPlan:
    cost: float
    open: list[int]  # producers in use
    assignment: np.ndarray  # (m, n) share of pool j served by producer i
    bound: float  # best lower bound HiGHS proved
    optimal: bool
    seconds: float
    build_seconds: float

    def pools_of(self, producer: int) -> list[int]:
        return [int(j) for j in np.nonzero(self.assignment[producer] > 1e-9)[0]]


@dataclass(frozen=True)
class NetworkInfeasible:
    code: str  # capacity | single_source | time_limit
    reason: str


def model(net: Network, single_source: bool = False) -> highspy.HighsLp:
    """The MIP above as one HighsLp; columns are y_0..y_{m-1}, then x row by row (x_ij at m + i·n + j)."""
    m, n = net.shape
    mn = m * n
    x_cols = m + np.arange(mn)
    producer_of_x = np.repeat(np.arange(m), n)
    pool_of_x = np.tile(np.arange(n), m)
    blocks = [
        # rows 0..n-1: Σ_i x_ij = 1
        (pool_of_x, x_cols, np.ones(mn)),
        # rows n..n+m-1: Σ_j d_j x_ij - s_i y_i <= 0
        (n + producer_of_x, x_cols, np.tile(net.demand.astype(float), m)),
        (n + np.arange(m), np.arange(m), -net.capacity.astype(float)),
        # rows n+m..n+m+mn-1: x_ij - y_i <= 0
        (n + m + np.arange(mn), x_cols, np.ones(mn)),
        (n + m + np.arange(mn), producer_of_x, -np.ones(mn)),
        # last row: Σ_i s_i y_i >= Σ_j d_j
        (np.full(m, n + m + mn), np.arange(m), net.capacity.astype(float)),
    ]
    rows = np.concatenate([b[0] for b in blocks])
    cols = np.concatenate([b[1] for b in blocks])
    vals = np.concatenate([b[2] for b in blocks])
    num_rows, num_cols = n + m + mn + 1, m + mn
    matrix = sparse.csc_matrix((vals, (rows, cols)), shape=(num_rows, num_cols))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = num_cols, num_rows
    lp.col_cost_ = np.concatenate([net.fixed_cost.astype(float), net.cost.astype(float).ravel()])
    lp.col_lower_ = np.zeros(num_cols)
    lp.col_upper_ = np.ones(num_cols)
    inf = highspy.kHighsInf
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(m + mn, -inf), [float(net.demand.sum())]])
    lp.row_upper_ = np.concatenate([np.ones(n), np.zeros(m + mn), [inf]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr
    lp.a_matrix_.index_ = matrix.indices
    lp.a_matrix_.value_ = matrix.data
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = num_cols, num_rows
    integer, continuous = highspy.HighsVarType.kInteger, highspy.HighsVarType.kContinuous
    lp.integrality_ = [integer] * m + [integer if single_source else continuous] * mn
    return lp


def solve(net: Network, single_source: bool = False, time_limit: float | None = None,
          threads: int | None = None) -> NetworkPlan | NetworkInfeasible:
    """The cheapest assignment of every pool to producers, or why there is none."""
    if net.capacity.sum() < net.demand.sum():
        return NetworkInfeasible("capacity", f"producers can supply {net.capacity.sum():g} in all, the pools need "
                                             f"{net.demand.sum():g}")
    if single_source and (net.demand > net.capacity.max()).any():
        j = int(np.argmax(net.demand > net.capacity.max()))
        return NetworkInfeasible("single_source", f"pool {j} needs {net.demand[j]:g}, more than any one producer "
                                                  f"can supply ({net.capacity.max():g})")
    started = time.perf_counter()
    lp = model(net, single_source)
    h = quiet_highs()
    h.setOptionValue("mip_rel_gap", 1e-9)  # the published optima are exact: prove ours is too
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    h.passModel(lp)
    built = time.perf_counter()
    h.run()
    status = h.getModelStatus()
    seconds = time.perf_counter() - started
    if status == highspy.HighsModelStatus.kInfeasible:
        kind = "single_source" if single_source else "capacity"
        return NetworkInfeasible(kind, "no assignment of the pools fits the producers' capacities"
                                       + (" with each pool from one producer" if single_source else ""))
    if not h.getInfo().primal_solution_status:
        return NetworkInfeasible("time_limit", f"no feasible assignment found within {time_limit} s")
    m, n = net.shape
    values = np.asarray(h.getSolution().col_value)
    assignment = values[m:].reshape(m, n)
    info = h.getInfo()
    return NetworkPlan(cost=float(info.objective_function_value), open=[int(i) for i in np.nonzero(values[:m] > 0.5)[0]],
                       assignment=assignment, bound=float(info.mip_dual_bound),
                       optimal=status == highspy.HighsModelStatus.kOptimal, seconds=seconds,
                       build_seconds=built - started)
