"""Grouped sales columns reach the full LP's optimum; fix-and-optimize only ever raises the margin."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from yuantou.plan.generate import generated_plan
from yuantou.plan.improve import improve_by_product
from yuantou.plan.lp import PlanLP, highs, sales_columns
from yuantou.plan.model import build
from yuantou.plan.sales import Grouping, SalesPieces
from yuantou.plan.solve import _fixed_bounds, _opened


def full_lp_optimum(model) -> float:
    """HiGHS on the full LP, one column per segment, integers relaxed: the reference."""
    lp = sales_columns(model.builder.finish(), Grouping.singletons(model.sales)).highs(maximize=True, integer=False)
    h = highs()
    h.passModel(lp)
    h.run()
    return float(h.getInfo().objective_function_value)


@pytest.mark.parametrize("seed", [1, 2])
def test_grouped_lp_reaches_the_full_optimum_with_far_fewer_columns(seed: int) -> None:
    model = build(generated_plan(products=12, regions=6, days=10, resources=3, seed=seed))
    grouped = PlanLP(model.builder.finish(), Grouping.by_segment(model.sales))
    solution = grouped.solve()
    reference = full_lp_optimum(model)
    assert solution.margin == pytest.approx(reference, rel=1e-7)
    assert solution.bound >= reference - 1e-6 * abs(reference)
    assert solution.rounds > 1  # the first grouping was not exact: it had to be refined
    assert len(grouped.grouping) < len(model.sales) / 3
    # the plan is the full LP's: every segment within its width, the shipping rows balanced
    assert (solution.sold >= -1e-9).all() and (solution.sold <= model.sales.width + 1e-9).all()


@pytest.mark.parametrize("seed", [3])
def test_the_bound_is_an_upper_bound_at_any_grouping(seed: int) -> None:
    model = build(generated_plan(products=8, regions=5, days=8, resources=2, seed=seed))
    coarse = PlanLP(model.builder.finish(), Grouping.by_segment(model.sales)).solve(max_rounds=1)
    reference = full_lp_optimum(model)
    assert coarse.margin <= reference + 1e-6 * abs(reference) <= coarse.bound + 2e-6 * abs(reference)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.floats(0.1, 10), st.floats(-2, 5)), min_size=1, max_size=30),
       st.lists(st.floats(0, 40), min_size=4, max_size=4))
def test_fill_spreads_a_groups_amount_best_segment_first(segments: list, amounts: list) -> None:
    rows = np.array([r for r, _, _ in segments])
    pieces = SalesPieces(row=rows, lane_row=np.full(len(rows), -1), width=np.array([w for _, w, _ in segments]),
                         value=np.array([v for _, _, v in segments]), forecast=np.arange(len(rows)),
                         through=np.ones(len(rows)), segment=np.zeros(len(rows), dtype=np.int64))
    grouping = Grouping(pieces, rows)
    amount = np.minimum(np.array(amounts)[grouping.row], grouping.width)
    filled = grouping.fill(amount)
    assert (filled >= -1e-12).all() and (filled <= pieces.width + 1e-12).all()
    assert np.bincount(grouping.group_of, filled, len(grouping)) == pytest.approx(amount)
    for g in range(len(grouping)):  # nothing goes into a segment while a better one in its group has room
        members = grouping.order[grouping.start[g]:grouping.start[g + 1]]
        for better, worse in zip(members, members[1:]):
            assert pieces.value[better] >= pieces.value[worse]
            assert filled[worse] <= 1e-12 or filled[better] >= pieces.width[better] - 1e-9


def test_fix_and_optimize_keeps_the_plan_feasible_and_never_lowers_the_margin() -> None:
    model = build(generated_plan(products=20, regions=4, days=10, resources=3, seed=5))
    core = model.builder.finish()
    lp = PlanLP(core, Grouping.by_segment(model.sales))
    relaxed = lp.solve()
    rounded = lp.solve(*_fixed_bounds(model, core, _opened(model, relaxed.values, 1e-6)))
    data = sales_columns(core, lp.grouping)
    x = np.concatenate([rounded.values, np.bincount(lp.grouping.group_of, rounded.sold, len(lp.grouping))])
    # the rounded plan satisfies the batch links once they are tightened back (make ≤ bound · setup)
    x[model.make.ravel()] = np.minimum(x[model.make.ravel()], data.col_upper[model.make.ravel()])
    owner = np.concatenate([model.column_products(), model.ship_product()[lp.grouping.row]])
    products = np.unique(model.route_product[(model.setup >= 0).any(axis=1)])
    better, changed = improve_by_product(data, x, owner, products)
    assert data.cost @ better >= data.cost @ x - 1e-6
    matrix = sparse.csc_matrix((data.value, data.index, data.start), shape=(data.num_rows, data.num_cols))
    activity = matrix @ better
    assert (activity >= data.row_lower - 1e-5).all() and (activity <= data.row_upper + 1e-5).all()
    assert (better >= data.col_lower - 1e-7).all() and (better <= data.col_upper + 1e-7).all()
    setups = better[model.setup[model.setup >= 0]]
    assert np.allclose(setups, np.round(setups), atol=1e-6)
    assert changed > 0  # on this producer rounding leaves batches worth merging
