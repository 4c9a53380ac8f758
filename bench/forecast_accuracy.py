"""Forecast accuracy on data no one here produced: M4 Hourly and Weekly, and car-part sales.

    python bench/forecast_accuracy.py [--sets hourly,weekly,carparts] [--limit N] [--windows W] [--speed-series N]

M4: the pipeline's own automatic choice per series, scored as the organisers scored (sMAPE,
MASE with their frequencies, OWA against Naive2 reproduced here), beside every statistical
benchmark they published, with 80 %/95 % interval coverage. Car parts (intermittent):
MASE and coverage beside a Croston baseline. Speed: series per second of the pipeline beside
the bare statsforecast calls it makes (same models, same cross-validation) on the same series,
in the same run (the first ``--speed-series`` of each M4 set, all car parts). Writes
``bench/results/forecast_accuracy.json``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from yuantou.forecast.benchmarks import naive2, seasonal_naive
from yuantou.forecast.metrics import mase, owa, smape
from yuantou.forecast.pipeline import Settings, _frame, groups, run
from yuantou.forecast.wide import read_wide_csv

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
SHARED = Path(os.environ.get("YUANTOU_SHARED", HERE.parent.parent / "shared"))
M4 = SHARED / "forecasting/data/m4_hourly_weekly"
CARPARTS = SHARED / "forecasting/data/carparts/carparts_monthly_wide.csv"
# key: (file name, horizon, season the models use, longer cycles for MSTL, the M4 "frequency" MASE uses)
M4_SETS = {"hourly": ("Hourly", 48, 24, (168,), 24), "weekly": ("Weekly", 13, 52, (), 1)}
BENCHMARKS = ("Naive", "sNaive", "Naive2", "SES", "Holt", "Damped", "Theta", "Com")


def published(freq: str) -> dict[str, tuple[float, float, float]]:
    import openpyxl

    sheet = openpyxl.load_workbook(M4 / "M4-Evaluation-and-Ranks.xlsx", read_only=True, data_only=True)[
        "Point Forecasts-Frequency"]
    rows = list(sheet.iter_rows(values_only=True))
    cols = [i for i, name in enumerate(rows[1]) if name == freq]
    return {str(r[0]): tuple(float(r[i]) for i in cols) for r in rows[2:] if r[0] in BENCHMARKS}


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    return float(np.mean((actual >= lower) & (actual <= upper)))


def bare_statsforecast(series: dict[str, np.ndarray], settings: Settings) -> None:
    """The statsforecast calls the pipeline makes, and nothing else: the same models, the same cross-validation."""
    for group in groups(series, settings):
        sf, frame = group.statsforecast(settings.jobs), _frame(group.series)
        sf.cross_validation(df=frame, h=settings.horizon, n_windows=settings.windows, step_size=settings.horizon)
        sf.forecast(df=frame, h=settings.horizon)


def speed(history: dict[str, np.ndarray], settings: Settings, limit: int, repeat: int) -> dict:
    """Series per second of ``run`` beside the bare statsforecast calls, on the same series, in pairs whose order
    alternates (after both have forecast a few series once, so numba's compilation is paid outside the timing);
    the ratio is the median of the pairs' ratios, each pair measured back to back on this shared machine."""
    ids = list(history)[:limit] if limit else list(history)
    subset = {sid: history[sid] for sid in ids}
    warm = {sid: history[sid] for sid in ids[:20]}
    run(warm, settings)
    bare_statsforecast(warm, settings)

    def timed(call) -> float:
        started = time.perf_counter()
        call(subset, settings)
        return time.perf_counter() - started

    ours, bare = [], []
    for i in range(repeat):
        if i % 2 == 0:
            ours.append(timed(run))
            bare.append(timed(bare_statsforecast))
        else:
            bare.append(timed(bare_statsforecast))
            ours.append(timed(run))
    ratios = [b / o for o, b in zip(ours, bare)]
    return {"series": len(ids), "repeats": repeat, "ours_series_per_s": round(len(ids) / float(np.median(ours)), 2),
            "bare_series_per_s": round(len(ids) / float(np.median(bare)), 2),
            "ratio": round(float(np.median(ratios)), 3), "ratios": [round(r, 3) for r in ratios],
            "ours_seconds": [round(x, 2) for x in ours], "bare_seconds": [round(x, 2) for x in bare]}


def m4(key: str, limit: int | None, windows: int, jobs: int, speed_series: int, speed_repeat: int,
       accuracy: bool = True) -> dict:
    freq, horizon, season, extra, mase_season = M4_SETS[key]
    train, test = read_wide_csv(M4 / f"{freq}-train.csv"), read_wide_csv(M4 / f"{freq}-test.csv")
    ids = list(train)[:limit] if limit else list(train)
    history = {sid: train[sid] for sid in ids}
    settings = Settings(horizon=horizon, season_length=season, extra_seasons=extra, windows=windows, jobs=jobs)
    if not accuracy:
        return {"speed": speed(history, settings, speed_series, speed_repeat)}
    started = time.perf_counter()
    forecasts = run(history, settings)
    seconds = time.perf_counter() - started
    ours_s, ours_m, n2_s, n2_m, sn_s, sn_m, cover = [], [], [], [], [], [], {80: [], 95: []}
    chosen: dict[str, int] = {}
    for f in forecasts:
        y, hist = test[f.id], history[f.id]
        ours_s.append(smape(y, f.mean))
        ours_m.append(mase(y, f.mean, hist, mase_season))
        baseline = naive2(hist, horizon, mase_season)
        n2_s.append(smape(y, baseline))
        n2_m.append(mase(y, baseline, hist, mase_season))
        repeat = seasonal_naive(hist, horizon, mase_season)  # the organisers' sNaive (their frequency)
        sn_s.append(smape(y, repeat))
        sn_m.append(mase(y, repeat, hist, mase_season))
        for level in cover:
            cover[level].append(coverage(y, f.lower[level], f.upper[level]))
        chosen[f.model] = chosen.get(f.model, 0) + 1
    s, m = float(np.mean(ours_s)), float(np.mean(ours_m))
    result = {"series": len(forecasts), "seconds": round(seconds, 1), "series_per_s": round(len(forecasts) / seconds, 2),
              "smape": round(s, 3), "mase": round(m, 3),
              "owa": round(owa(s, m, float(np.mean(n2_s)), float(np.mean(n2_m))), 4),
              "naive2": {"smape": round(float(np.mean(n2_s)), 3), "mase": round(float(np.mean(n2_m)), 3)},
              "snaive_owa_same_series": round(owa(float(np.mean(sn_s)), float(np.mean(sn_m)), float(np.mean(n2_s)),
                                                  float(np.mean(n2_m))), 4),
              "coverage": {str(k): round(float(np.mean(v)), 4) for k, v in cover.items()}, "models_chosen": chosen}
    if speed_series:
        result["speed"] = speed(history, settings, speed_series, speed_repeat)
    if not limit:
        result["published"] = {k: {"smape": v[0], "mase": v[1], "owa": round(v[2], 4)} for k, v in published(freq).items()}
    return result


def read_carparts() -> dict[str, np.ndarray]:
    with open(CARPARTS, newline="") as handle:
        rows = list(csv.reader(handle))
    header, body = rows[0][1:], rows[1:]
    values = np.array([[float(c) if c not in ("", "NA") else np.nan for c in r[1:]] for r in body])
    series = {}
    for k, sid in enumerate(header):
        column = values[:, k]
        if not np.isnan(column).any():  # complete series only: the usual practice with this set
            series[sid] = column
    return series


def carparts(limit: int | None, windows: int, jobs: int, speed_series: int, speed_repeat: int,
             accuracy: bool = True, horizon: int = 6) -> dict:
    from statsforecast import StatsForecast
    from statsforecast.models import CrostonClassic

    series = read_carparts()
    ids = list(series)[:limit] if limit else list(series)
    history = {sid: series[sid][:-horizon] for sid in ids}
    future = {sid: series[sid][-horizon:] for sid in ids}
    settings = Settings(horizon=horizon, season_length=12, windows=windows, jobs=jobs)
    if not accuracy:
        return {"speed": speed(history, settings, 0 if speed_series >= len(ids) else speed_series, speed_repeat)}
    started = time.perf_counter()
    forecasts = run(history, settings)
    seconds = time.perf_counter() - started
    import pandas as pd

    frame = pd.DataFrame({"unique_id": np.repeat(ids, [len(history[i]) for i in ids]),
                          "ds": np.concatenate([np.arange(len(history[i])) for i in ids]),
                          "y": np.concatenate([history[i] for i in ids])})
    croston = StatsForecast(models=[CrostonClassic()], freq=1, n_jobs=jobs).forecast(df=frame, h=horizon)
    croston = {sid: g["CrostonClassic"].to_numpy() for sid, g in croston.groupby("unique_id")}

    def scaled(y: np.ndarray, f: np.ndarray, hist: np.ndarray) -> float:
        scale = np.mean(np.abs(np.diff(hist)))
        return float(np.mean(np.abs(y - f)) / scale) if scale > 0 else np.nan

    ours = [scaled(future[f.id], f.mean, history[f.id]) for f in forecasts]
    base = [scaled(future[sid], croston[sid], history[sid]) for sid in ids]
    cover = {level: float(np.mean([coverage(future[f.id], f.lower[level], f.upper[level]) for f in forecasts]))
             for level in (80, 95)}
    chosen: dict[str, int] = {}
    for f in forecasts:
        chosen[f.model] = chosen.get(f.model, 0) + 1
    result = {"series": len(forecasts), "horizon": horizon, "seconds": round(seconds, 1),
              "mase": round(float(np.nanmean(ours)), 4), "croston_mase": round(float(np.nanmean(base)), 4),
              "coverage": {str(k): round(v, 4) for k, v in cover.items()}, "models_chosen": chosen}
    if speed_series:
        result["speed"] = speed(history, settings, 0 if speed_series >= len(ids) else speed_series, speed_repeat)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sets", default="weekly,hourly,carparts")
    parser.add_argument("--limit", type=int, default=None, help="only the first N series of each set (a quick look)")
    parser.add_argument("--windows", type=int, default=2, help="rolling origins for model choice and intervals")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="processes statsforecast may use")
    parser.add_argument("--speed-series", type=int, default=30,
                        help="series timed against bare statsforecast per M4 set (car parts: all; 0: no timing)")
    parser.add_argument("--speed-repeat", type=int, default=2)
    parser.add_argument("--speed-only", action="store_true", help="time against bare statsforecast, no accuracy")
    parser.add_argument("--smoke", action="store_true", help="2 series of M4 Weekly and car parts: does it run (keeps no figures)")
    args = parser.parse_args()
    if args.smoke:
        args.sets, args.limit, args.speed_series, args.speed_repeat = "weekly,carparts", 2, 1, 1  # hourly: as weekly
        args.jobs = 1  # beside the test suites in CI: no process pool to start
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, "settings": vars(args)}
    for key in args.sets.split(","):
        if key in M4_SETS:
            r = results[key] = m4(key, args.limit, args.windows, args.jobs, args.speed_series, args.speed_repeat,
                                  not args.speed_only)
            if args.speed_only:
                print(f"M4 {key} speed: {r['speed']}", flush=True)
                continue
            print(f"M4 {key}: {r['series']} series in {r['seconds']} s; sMAPE {r['smape']}, MASE {r['mase']}, "
                  f"OWA {r['owa']} (sNaive on these series {r['snaive_owa_same_series']}); "
                  f"coverage 80 % {r['coverage']['80']:.3f}, 95 % {r['coverage']['95']:.3f}; "
                  f"chosen {r['models_chosen']}", flush=True)
            if "speed" in r:
                print(f"    speed: {r['speed']}")
            for name, p in (r.get("published") or {}).items():
                print(f"    published {name:7s} sMAPE {p['smape']:7.3f} MASE {p['mase']:6.3f} OWA {p['owa']:.3f}")
        elif key == "carparts":
            r = results[key] = carparts(args.limit, args.windows, args.jobs,
                                        args.speed_series and 10 ** 9, args.speed_repeat, not args.speed_only)
            if args.speed_only:
                print(f"car parts speed: {r['speed']}", flush=True)
                continue
            print(f"car parts: {r['series']} series; MASE {r['mase']} (Croston {r['croston_mase']}); coverage "
                  f"80 % {r['coverage']['80']:.3f}, 95 % {r['coverage']['95']:.3f}; chosen {r['models_chosen']}")
            if "speed" in r:
                print(f"    speed: {r['speed']}", flush=True)
    from protocol import write_results

    name = "forecast_speed" if args.speed_only else "forecast_accuracy"
    write_results(name + ("_partial" if args.limit else ""), results)


if __name__ == "__main__":
    main()
