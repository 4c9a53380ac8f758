"""The automatic per-series forecaster on statsforecast: model choice, intervals, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from yuantou.forecast.benchmarks import naive
from yuantou.forecast.metrics import mase
from yuantou.forecast.pipeline import COMBINATION, COMBINATION_MARGIN, ENSEMBLE, INTERMITTENT, REGULAR, Settings, run


def synthetic(seed: int = 3) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Weekly-cycle sales with noise, and sparse spare-part demand; the last 7 points held out."""
    rng = np.random.default_rng(seed)
    t = np.arange(140 + 7)
    full = {f"shop{k}": 50 + 20 * np.sin(2 * np.pi * t / 7 + k) + rng.normal(0, 3, len(t)) for k in range(3)}
    full |= {f"part{k}": np.where(rng.random(len(t)) < 0.15, rng.integers(1, 5, len(t)), 0).astype(float)
             for k in range(3)}
    return {k: v[:-7] for k, v in full.items()}, {k: v[-7:] for k, v in full.items()}


def test_each_series_gets_a_model_of_its_kind_and_beats_naive_on_a_seasonal_signal():
    history, future = synthetic()
    forecasts = {f.id: f for f in run(history, Settings(horizon=7, season_length=7, jobs=1))}
    assert list(forecasts) == list(history)
    for sid, f in forecasts.items():
        family = INTERMITTENT if sid.startswith("part") else REGULAR
        assert f.model in family + (ENSEMBLE, COMBINATION), (sid, f.model)
        assert set(f.cv_mase) >= set(n for n in family if n in f.cv_mase)
        # the lowest cross-validated error wins, except that the robust combination keeps its place unless beaten
        # by the margin
        best = min(f.cv_mase.values())
        assert f.cv_mase[f.model] == best or (f.model == COMBINATION and best >= (1 - COMBINATION_MARGIN) * f.cv_mase[COMBINATION])
        assert f.mean.shape == (7,) and (f.mean >= 0).all()
        for level in (80, 95):
            assert (f.lower[level] >= 0).all() and (f.lower[level] <= f.upper[level] + 1e-9).all()
        assert (f.lower[95] <= f.lower[80] + 1e-9).all() and (f.upper[80] <= f.upper[95] + 1e-9).all()
        assert list(f.quantiles) == [0.025, 0.1, 0.9, 0.975]
        steps = np.stack(list(f.quantiles.values()))
        assert (np.diff(steps, axis=0) >= -1e-9).all() and (steps >= 0).all()
        if sid.startswith("shop"):  # a smooth series: central intervals around the forecast
            assert (f.lower[80] <= f.mean).all() and (f.mean <= f.upper[80]).all()
            assert f.lower[80] == pytest.approx(f.quantiles[0.1]) and f.upper[95] == pytest.approx(f.quantiles[0.975])
        else:  # spare parts, zero most weeks: the interval starts at zero and ends at the level's quantile
            assert (f.lower[80] == 0).all() and (f.upper[80] <= f.quantiles[0.9] + 1e-9).all()
    for k in range(3):
        sid = f"shop{k}"
        ours = mase(future[sid], forecasts[sid].mean, history[sid], 7)
        assert ours < 0.5 * mase(future[sid], naive(history[sid], 7), history[sid], 7), sid


def test_intervals_cover_about_their_level_on_fresh_data():
    """Calibrated on the cross-validation errors, the intervals hold about their share of what comes next."""
    rng = np.random.default_rng(11)
    t = np.arange(70 + 7)
    series = {f"s{k}": 40 + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 4, len(t)) for k in range(60)}
    forecasts = run({k: v[:-7] for k, v in series.items()}, Settings(horizon=7, season_length=7, jobs=1))
    for level in (80, 95):
        inside = np.mean([(series[f.id][-7:] >= f.lower[level]) & (series[f.id][-7:] <= f.upper[level])
                          for f in forecasts])
        assert abs(inside - level / 100) < 0.07, (level, inside)


def test_no_series_is_refused_for_being_short_and_each_says_what_was_done():
    """New products have short histories: fewer windows, then the robust combination, then the mean; their
    quantiles come from the validated series, so their intervals are finite; one observation is enough."""
    history, _ = synthetic()
    history.update({"two-weeks": np.arange(15, dtype=float) % 7 + 10, "new-shop": np.full(10, 4.0) + np.arange(10) % 3,
                    "first-day": np.array([4.0])})
    forecasts = {f.id: f for f in run(history, Settings(horizon=7, season_length=7, jobs=1))}
    assert set(forecasts) == set(history)
    basis = {sid: forecasts[sid].basis for sid in ("two-weeks", "new-shop", "first-day")}
    assert basis == {"two-weeks": "validated-once", "new-shop": "unvalidated", "first-day": "empirical"}
    assert forecasts["new-shop"].model == "Combination" and "not validated (10 points" in forecasts["new-shop"].method
    assert forecasts["first-day"].mean.tolist() == [4.0] * 7 and "its 1 point" in forecasts["first-day"].method
    assert all(forecasts[sid].basis == "validated" for sid in history if sid not in basis)
    for sid in basis:
        f = forecasts[sid]
        assert np.all(np.isfinite(f.mean)) and np.all(np.isfinite(f.upper[80])) and np.all(f.lower[80] <= f.mean)
