"""The production plan at scale: a generated producer of N products × 20 regions × 28 days × 10 resources.

    python bench/production_plan.py [--products 500 100 ...] [--repeat 3] [--method auto|mip|fix] [--full-lp]

For each size, ``--repeat`` runs of ``plan.solve`` (medians reported): model build (numpy blocks)
and solve times, the build's share of the total, the plan's status, margin and gap (to the LP
bound for relax-and-fix), and its size (columns of the formulation, columns HiGHS saw with sales
segments grouped). ``--full-lp`` also times, in the same run, HiGHS on the full LP relaxation (one
column per segment) beside our grouped LP relaxation of the same model, and checks both reach the
same optimum. Written to ``bench/results/production_plan.json``. The goal (issue 4) is 500 products
built and solved in < 60 s on 2 cores with building ≤ 20 % of the total.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import highspy

from yuantou.plan.generate import generated_plan
from yuantou.plan.lp import PlanLP, highs, sales_columns
from yuantou.plan.model import build
from yuantou.plan.sales import Grouping
from yuantou.plan.solve import PlanInfeasible, solve

sys.path.insert(0, str(Path(__file__).resolve().parent))


def one_run(n: int, method: str, time_limit: float | None) -> dict:
    spec = generated_plan(products=n)
    started = time.perf_counter()
    plan = solve(spec, threads=2, method=method, time_limit=time_limit)
    total = time.perf_counter() - started
    if isinstance(plan, PlanInfeasible):
        return {"status": "infeasible", "message": plan.message, "total_seconds": total}
    s = plan.seconds
    return {**plan.size, "status": plan.status, "gap": plan.gap, "build_seconds": s["build"],
            "solve_seconds": s["solve"], "total_seconds": total, "build_share": s["build"] / total,
            "margin": plan.margin, "fill_rate_forecast": plan.fill_rate["forecast"],
            "expected_waste": plan.expected_waste}


def full_lp(n: int) -> dict:
    """The LP relaxation two ways on one model: HiGHS on every segment as a column, and ours grouped."""
    model = build(generated_plan(products=n))
    core = model.builder.finish()
    lp = sales_columns(core, Grouping.singletons(model.sales)).highs(maximize=True, integer=False)
    h = highs(threads=2)
    started = time.perf_counter()
    h.passModel(lp)
    h.run()
    bare = time.perf_counter() - started
    reference = float(h.getInfo().objective_function_value)
    started = time.perf_counter()
    ours = PlanLP(core, Grouping.by_segment(model.sales), threads=2).solve()
    grouped = time.perf_counter() - started
    return {"columns": lp.num_col_, "highs_full_seconds": round(bare, 2), "highs_full_optimum": reference,
            "grouped_seconds": round(grouped, 2), "grouped_optimum": ours.margin, "grouped_bound": ours.bound,
            "grouped_columns": ours.columns, "rounds": ours.rounds, "speedup": round(bare / grouped, 2),
            "same_optimum": abs(ours.margin - reference) <= 1e-6 * abs(reference)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, nargs="+", default=[500])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--method", default="auto", choices=("auto", "mip", "fix"))
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--full-lp", action="store_true", help="also time HiGHS on the full LP relaxation")
    parser.add_argument("--smoke", action="store_true", help="20 products, once: does it run (keeps no figures)")
    args = parser.parse_args()
    if args.smoke:  # relax-and-fix: a second; branch and bound on 20 products uses its whole minute (MIP_SECONDS)
        args.products, args.repeat, args.method = [20], 1, "fix"
    from protocol import write_results

    header = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "highspy": getattr(highspy, "__version__", "?")}, "settings": vars(args)}
    rows = []
    for n in args.products:
        runs = [one_run(n, args.method, args.time_limit) for _ in range(args.repeat)]
        row = {"products": n, "regions": 20, "days": 28, "resources": 10, "runs": len(runs)}
        for key in ("columns", "lp_columns", "rows", "integers", "status"):
            row[key] = runs[-1].get(key)
        for key in ("total_seconds", "build_seconds", "solve_seconds", "build_share", "gap", "margin",
                    "fill_rate_forecast", "expected_waste"):
            values = [r[key] for r in runs if key in r]
            if values:
                row[key] = round(statistics.median(values), 5)
        row["total_seconds_each"] = [round(r["total_seconds"], 2) for r in runs]
        if args.full_lp:
            row["lp_relaxation"] = full_lp(n)
        rows.append(row)
        print(row, flush=True)
        write_results("production_plan", {**header, "sizes": rows}, quiet=True)
    write_results("production_plan", {**header, "sizes": rows})


if __name__ == "__main__":
    main()
