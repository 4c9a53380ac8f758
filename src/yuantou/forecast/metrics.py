"""Forecast accuracy as the M4 competition scored it (Makridakis et al., IJF 2020), pure numpy.

- sMAPE: 200/h · Σ |y − ŷ| / (|y| + |ŷ|), per series, then averaged over series.
- MASE: mean |y − ŷ| over the horizon, scaled by the in-sample mean absolute seasonal
  difference at lag m (the M4 "frequency": 24 for hourly, 1 for weekly); averaged over series.
- OWA: the mean of sMAPE and MASE, each relative to the Naive2 benchmark's, on the averages.
"""

from __future__ import annotations

import numpy as np


def smape(actual: np.ndarray, forecast: np.ndarray) -> float:
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    return float(np.mean(200.0 * np.abs(actual - forecast) / (np.abs(actual) + np.abs(forecast))))


def mase_scale(history: np.ndarray, season: int) -> float:
    """The in-sample mean absolute seasonal difference (the denominator of MASE)."""
    history = np.asarray(history, float)
    return float(np.mean(np.abs(history[season:] - history[:-season])))


def mase(actual: np.ndarray, forecast: np.ndarray, history: np.ndarray, season: int) -> float:
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    return float(np.mean(np.abs(actual - forecast)) / mase_scale(history, season))


def owa(smape_value: float, mase_value: float, smape_naive2: float, mase_naive2: float) -> float:
    return 0.5 * (smape_value / smape_naive2 + mase_value / mase_naive2)
