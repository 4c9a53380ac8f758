"""The M4 organisers' statistical benchmarks that everything else is scored against (pure numpy).

Naive (last value), seasonal naive (the last season repeated) and Naive2: naive on the
seasonally adjusted series, re-seasonalised, where the series passes the organisers'
seasonality test (lag-m autocorrelation beyond its 90 % limit) and is at least three
seasons long. The adjustment is R's classical multiplicative ``decompose``: a centred
moving average as the trend and the mean ratio to it per position in the season,
normalised to average 1. Reproducing these exactly proves the metric code against the
published scores before any model of ours is judged.
"""

from __future__ import annotations

import numpy as np


def naive(history: np.ndarray, horizon: int) -> np.ndarray:
    return np.full(horizon, float(history[-1]))


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    last = np.asarray(history[-season:], float)
    return np.resize(last, horizon)


def autocorrelation(x: np.ndarray, lags: int) -> np.ndarray:
    """R's ``acf``: lags 1..lags, mean-centred, divided by n (not n − k)."""
    x = np.asarray(x, float) - np.mean(x)
    denominator = np.dot(x, x)
    return np.array([np.dot(x[k:], x[:-k]) / denominator for k in range(1, lags + 1)])


def is_seasonal(history: np.ndarray, season: int, critical: float = 1.645) -> bool:
    """The M4 ``SeasonalityTest``: |acf(m)| beyond 1.645 · sqrt((1 + 2 Σ_{k<m} acf(k)²) / n)."""
    n = len(history)
    if season <= 1 or n < 3 * season:
        return False
    acf = autocorrelation(history, season)
    limit = critical / np.sqrt(n) * np.sqrt(1 + 2 * np.sum(acf[:-1] ** 2))
    return bool(abs(acf[-1]) > limit)


def seasonal_indices(history: np.ndarray, season: int) -> np.ndarray:
    """Multiplicative seasonal index of every observation (R's ``decompose(type="multiplicative")$seasonal``)."""
    x = np.asarray(history, float)
    n = len(x)
    if season % 2 == 0:
        weights = np.r_[0.5, np.ones(season - 1), 0.5] / season
    else:
        weights = np.ones(season) / season
    half = len(weights) // 2
    trend = np.full(n, np.nan)
    trend[half:n - half] = np.convolve(x, weights, mode="valid")
    ratio = x / trend
    figure = np.array([np.nanmean(ratio[i::season]) for i in range(season)])
    figure /= figure.mean()
    return np.resize(figure, n)


def naive2(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    if not is_seasonal(history, season):
        return naive(history, horizon)
    index = seasonal_indices(history, season)
    adjusted = np.asarray(history, float) / index
    ahead = np.resize(index[-season:], horizon)
    return adjusted[-1] * ahead
