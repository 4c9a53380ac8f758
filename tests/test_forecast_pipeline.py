"""The automatic per-series forecaster on statsforecast: model choice, intervals, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from yuantou.forecast.benchmarks import naive
from yuantou.forecast.metrics import mase
from yuantou.forecast.pipeline import ENSEMBLE, INTERMITTENT, REGULAR, Settings, run


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
        assert f.model in family + (ENSEMBLE,), (sid, f.model)
        assert set(f.cv_mase) >= set(n for n in family if n in f.cv_mase) and f.cv_mase[f.model] == min(f.cv_mase.values())
        assert f.mean.shape == (7,) and (f.mean >= 0).all()
        for level in (80, 95):
            assert (f.lower[level] <= f.mean + 1e-9).all() and (f.mean <= f.upper[level] + 1e-9).all()
            assert (f.lower[level] >= 0).all()
        assert (f.upper[95] - f.lower[95] >= f.upper[80] - f.lower[80] - 1e-9).all()
    for k in range(3):
        sid = f"shop{k}"
        ours = mase(future[sid], forecasts[sid].mean, history[sid], 7)
        assert ours < 0.5 * mase(future[sid], naive(history[sid], 7), history[sid], 7), sid


def test_series_too_short_for_the_cross_validation_are_refused_by_name():
    history, _ = synthetic()
    history["new-shop"] = np.ones(10)
    with pytest.raises(ValueError, match=r"1 series are shorter than 21 points .* 'new-shop' with 10"):
        run(history, Settings(horizon=7, season_length=7, jobs=1))
