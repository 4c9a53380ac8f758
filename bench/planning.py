"""Network sourcing on real instances: OR-Library capacitated and Holmberg single-source facility location.

    python bench/planning.py [--sets cap,capabc,holmberg] [--only NAME ...]

For each instance: our ``yuantou plan sourcing`` path (read the file, build the model with
numpy/scipy.sparse, solve on HiGHS, read the plan back) beside a bare highspy solve of the
same formulation built with highspy's own array calls, in the same run, one after the other.
Reports the optimum against the published value, both times and their ratio (goal ≤ 1.2×),
and writes ``bench/results/planning.json``.
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
import numpy as np

from yuantou.plan.facility_files import read_holmberg, read_orlib_cap
from yuantou.plan.network_sourcing import Network, NetworkPlan, solve

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SHARED = Path(os.environ.get("YUANTOU_SHARED", HERE.parent.parent / "shared"))
PLANNING = SHARED / "planning"
CAPACITIES = {"capa": (8000, 10000, 12000, 14000), "capb": (5000, 6000, 7000, 8000), "capc": (5000, 5750, 6500, 7250)}


def instances(sets: list[str], only: set[str]) -> list[tuple[str, Path, str, float | None, bool, float]]:
    """(name, file, format, capacity, single source, published optimum)."""
    bounds = {line.split()[0]: float(line.split()[2]) for line in
              (PLANNING / "orlib_cap/bounds_FacilityLocationProblems.jl.txt").read_text().splitlines() if line.strip()}
    out = []
    if "cap" in sets:
        for f in sorted((PLANNING / "orlib_cap").glob("cap[0-9]*.txt"), key=lambda p: int(p.stem[3:])):
            out.append((f.stem, f, "orlib-cap", None, False, bounds[f.stem]))
    if "capabc" in sets:
        for stem, capacities in CAPACITIES.items():
            for capacity in capacities:
                out.append((f"{stem}_{capacity}", PLANNING / f"orlib_cap/{stem}.txt", "orlib-cap", capacity, False,
                            bounds[f"{stem}_{capacity}"]))
    if "holmberg" in sets:
        optima = [float(v) for v in (PLANNING / "sscflp_holmberg/os").read_text().split()]
        for k in range(1, 72):
            f = PLANNING / f"sscflp_holmberg/p{k}"
            if f.exists():  # p47 is corrupt in the mirror and was not copied (see SOURCES.md)
                out.append((f"p{k}", f, "holmberg", None, True, optima[k - 1]))
    rank = {"cap": 0, "capabc": 1, "holmberg": 2}
    order = {key: sets.index(key) for key in rank if key in sets}  # in the order asked for
    kind = lambda name: "holmberg" if name.startswith("p") else "capabc" if "_" in name else "cap"  # noqa: E731
    return sorted((i for i in out if not only or i[0] in only), key=lambda i: order[kind(i[0])])


def ours(path: Path, fmt: str, capacity: float | None, single_source: bool) -> tuple[float, float, float]:
    """(cost, seconds end to end, seconds building) of the product's path from the file."""
    started = time.perf_counter()
    text = path.read_text(encoding="latin-1")
    net = read_orlib_cap(text, path.name, capacity) if fmt == "orlib-cap" else read_holmberg(text, path.name)
    plan = solve(net, single_source=single_source)
    assert isinstance(plan, NetworkPlan) and plan.optimal, plan
    return plan.cost, time.perf_counter() - started, plan.build_seconds


def bare(net: Network, single_source: bool) -> tuple[float, float]:
    """The same formulation through highspy's array calls (addVars/addRows), solved with the same options."""
    started = time.perf_counter()
    m, n = net.shape
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-9)
    inf = highspy.kHighsInf
    mn = m * n
    h.addVars(m + mn, np.zeros(m + mn), np.ones(m + mn))
    h.changeColsCost(m + mn, np.arange(m + mn, dtype=np.int32),
                     np.concatenate([net.fixed_cost, net.cost.ravel()]).astype(float))
    integer = m + (mn if single_source else 0)
    h.changeColsIntegrality(integer, np.arange(integer, dtype=np.int32),
                            np.full(integer, highspy.HighsVarType.kInteger))
    x = m + np.arange(mn).reshape(m, n)
    # every pool served
    starts = np.arange(n, dtype=np.int32) * m
    h.addRows(n, np.ones(n), np.ones(n), mn, starts, x.T.ravel().astype(np.int32), np.ones(mn))
    # capacity of producers in use
    idx = np.concatenate([np.concatenate([x[i], [i]]) for i in range(m)]).astype(np.int32)
    val = np.concatenate([np.concatenate([net.demand, [-net.capacity[i]]]) for i in range(m)]).astype(float)
    h.addRows(m, np.full(m, -inf), np.zeros(m), m * (n + 1), np.arange(m, dtype=np.int32) * (n + 1), idx, val)
    # x_ij <= y_i
    idx = np.stack([x.ravel(), np.repeat(np.arange(m), n)], axis=1).ravel().astype(np.int32)
    val = np.tile([1.0, -1.0], mn)
    h.addRows(mn, np.full(mn, -inf), np.zeros(mn), 2 * mn, np.arange(mn, dtype=np.int32) * 2, idx, val)
    # aggregate cover
    h.addRows(1, np.array([float(net.demand.sum())]), np.array([inf]), m, np.array([0], dtype=np.int32),
              np.arange(m, dtype=np.int32), net.capacity.astype(float))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return float(h.getInfo().objective_function_value), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="cap,capabc,holmberg")
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--smoke", action="store_true", help="one small instance of each set: does it run (keeps no figures)")
    args = parser.parse_args()
    if args.smoke:
        args.only = ["cap41", "p1"]
    from protocol import write_results

    header = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "highspy": getattr(highspy, "__version__", "?")}, "settings": vars(args)}
    rows = []
    for name, path, fmt, capacity, single, published in instances(args.sets.split(","), set(args.only)):
        text = path.read_text(encoding="latin-1")
        net = read_orlib_cap(text, name, capacity) if fmt == "orlib-cap" else read_holmberg(text, name)
        cost, seconds, build = ours(path, fmt, capacity, single)
        bare_cost, bare_seconds = bare(net, single)
        row = {"instance": name, "size": f"{net.shape[0]}x{net.shape[1]}", "single_source": single,
               "published": published, "cost": round(cost, 4), "matches": abs(cost - published) <= 2e-3,
               "bare_cost": round(bare_cost, 4), "seconds": round(seconds, 4), "build_seconds": round(build, 4),
               "bare_seconds": round(bare_seconds, 4), "ratio": round(seconds / bare_seconds, 3)}
        rows.append(row)
        write_results("planning", {**header, "complete": False, "instances": rows}, quiet=True)  # survives a stop
        print(f"{name:12s} {row['size']:>9s}  optimum {cost:>14.3f}  published {published:>14.3f}  "
              f"{'ok ' if row['matches'] else 'DIFF'}  ours {seconds:7.2f} s (build {build:.3f})  "
              f"bare {bare_seconds:7.2f} s  ×{row['ratio']:.2f}", flush=True)
    summary = {}
    for label, keep in (("cap41-cap134", lambda r: r["instance"].startswith("cap") and r["instance"][3].isdigit()),
                        ("capa/capb/capc", lambda r: r["instance"].startswith(("capa", "capb", "capc"))),
                        ("holmberg p1-p71", lambda r: r["single_source"])):
        part = [r for r in rows if keep(r)]
        if part:
            summary[label] = {"instances": len(part), "optimum_matched": sum(r["matches"] for r in part),
                              "median_ratio": statistics.median(r["ratio"] for r in part),
                              "max_ratio": max(r["ratio"] for r in part),
                              "total_seconds": round(sum(r["seconds"] for r in part), 2),
                              "total_bare_seconds": round(sum(r["bare_seconds"] for r in part), 2)}
            s = summary[label]
            print(f"{label}: {s['optimum_matched']}/{s['instances']} at the published optimum; time vs bare highspy "
                  f"median ×{s['median_ratio']:.2f}, worst ×{s['max_ratio']:.2f}; {s['total_seconds']:.1f} s in all "
                  f"(bare {s['total_bare_seconds']:.1f} s)")
    write_results("planning", {**header, "complete": True, "summary": summary, "instances": rows})


if __name__ == "__main__":
    main()
