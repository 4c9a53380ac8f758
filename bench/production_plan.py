"""The production plan at scale: a generated producer of N products × 20 regions × 28 days × 10 resources.

    python bench/production_plan.py [--products 500 100 ...] [--method auto|mip|fix]

For each size: model build (numpy → HiGHS) and solve times, the build's share of the total,
the plan's status and gap (against the MIP bound, or the LP bound for relax-and-fix), and
its size; written to ``bench/results/production_plan.json``. The goal (issue 4) is 500
products built and solved in < 60 s on 2 cores with building ≤ 20 % of the total.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import highspy

from yuantou.plan.generate import generated_plan
from yuantou.plan.solve import PlanInfeasible, solve

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, nargs="+", default=[500])
    parser.add_argument("--method", default="auto", choices=("auto", "mip", "fix"))
    parser.add_argument("--time-limit", type=float, default=None, help="for the MIP only")
    args = parser.parse_args()
    from protocol import write_results

    header = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "highspy": getattr(highspy, "__version__", "?")}, "settings": vars(args)}
    rows = []
    for n in args.products:
        spec = generated_plan(products=n)
        started = time.perf_counter()
        plan = solve(spec, threads=2, method=args.method, time_limit=args.time_limit)
        total = time.perf_counter() - started
        if isinstance(plan, PlanInfeasible):
            row = {"products": n, "status": "infeasible", "message": plan.message, "total_seconds": round(total, 2)}
        else:
            s = plan.seconds
            row = {"products": n, "regions": 20, "days": 28, "resources": 10, **plan.size, "status": plan.status,
                   "gap": round(plan.gap, 5), "build_seconds": round(s["build"], 2), "solve_seconds": round(s["solve"], 2),
                   "shadow_price_seconds": round(s["shadow_prices"], 2), "total_seconds": round(total, 2),
                   "build_share": round(s["build"] / total, 3), "margin": round(plan.margin, 2),
                   "fill_rate_forecast": plan.fill_rate["forecast"], "expected_waste": plan.expected_waste}
        rows.append(row)
        print(row, flush=True)
        write_results("production_plan", {**header, "runs": rows}, quiet=True)
    write_results("production_plan", {**header, "runs": rows})


if __name__ == "__main__":
    main()
