"""Fix-and-optimize: re-decide one product's batches at a time, every other column held where it is.

Relax-and-fix opens every batch the LP relaxation touched, many of them small, so it pays
setups a better plan would merge. Products share only the resources' capacity (and lanes with a
capacity), so with every other product's columns fixed what is left is one product's lot-sizing
problem in the capacity the others leave free: a MIP of a few dozen batch decisions that HiGHS
solves exactly in milliseconds. A change is kept only if it raises the margin, so the pass can
stop at any time and the plan never gets worse.
"""

from __future__ import annotations

import time

import highspy
import numpy as np
from scipy import sparse

from yuantou.plan.lp import highs
from yuantou.plan.matrix import LPData

QUIET_HEURISTICS = ("mip_heuristic_run_rins", "mip_heuristic_run_rens", "mip_heuristic_run_feasibility_jump",
                    "mip_heuristic_run_root_reduced_cost")


def improve_by_product(data: LPData, x: np.ndarray, owner: np.ndarray, products: np.ndarray,
                       deadline: float | None = None, threads: int | None = None) -> tuple[np.ndarray, int]:
    """A better solution of ``data`` (a MIP) than ``x``, re-solving the columns of each product in ``products``
    (``owner`` gives each column's product); returns it and how many products changed."""
    x = x.copy()
    matrix = sparse.csc_matrix((data.value, data.index, data.start), shape=(data.num_rows, data.num_cols))
    activity = matrix @ x
    by_owner = np.argsort(owner, kind="stable")
    bounds = np.searchsorted(owner[by_owner], [products, products + 1])
    changed = 0
    for _product, (lo, hi) in zip(products.tolist(), bounds.T.tolist()):
        if deadline is not None and time.perf_counter() > deadline:
            break
        cols = by_owner[lo:hi]
        block = matrix[:, cols]
        rows = np.unique(block.indices)
        block = block[rows].tocsc()
        mine = block @ x[cols]
        others = activity[rows] - mine
        sub = LPData(data.col_lower[cols], data.col_upper[cols], data.cost[cols], data.row_lower[rows] - others,
                     data.row_upper[rows] - others, block.indptr.astype(np.int64), block.indices.astype(np.int32),
                     block.data, 0.0, data.integer[cols])
        h = highs(None if deadline is None else deadline - time.perf_counter(), gap=1e-6, threads=threads)
        for option in QUIET_HEURISTICS:  # on a MIP this small they cost more than the search they would save
            h.setOptionValue(option, False)
        h.setOptionValue("mip_heuristic_effort", 0.0)
        h.passModel(sub.highs(maximize=True))
        start = highspy.HighsSolution()
        start.col_value = x[cols].tolist()
        start.value_valid = True
        h.setSolution(start)
        h.run()
        if not h.getInfo().primal_solution_status:
            continue
        new = np.asarray(h.getSolution().col_value)
        if sub.cost @ new > sub.cost @ x[cols] + 1e-6 * max(1.0, abs(sub.cost @ x[cols])):
            activity[rows] = others + block @ new
            x[cols] = new
            changed += 1
    return x, changed
