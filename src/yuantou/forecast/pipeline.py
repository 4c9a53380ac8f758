"""Automatic forecasting per series on statsforecast: rolling-origin cross-validation picks the model.

No series is refused for being short; what is done depends on its history (``SeriesForecast.method`` says):
with ``horizon × (windows + 1)`` points or more, the model is chosen over ``windows`` horizons as below; with
at least two horizons, over one; shorter but with ``MIN_FIT`` points, no model can be validated and the robust
combination of AutoETS, AutoTheta and AutoCES forecasts it; with fewer, its mean does (empirical). The
unvalidated ones take their quantiles from the validated series of the same run, in their own scale.

For each series the candidates are seasonal naive, AutoETS, AutoTheta, AutoCES and (where the
season is long) MSTL; a series that is mostly zeros gets the intermittent-demand family instead
(CrostonOptimized, ADIDA, IMAPA, TSB). Every candidate is scored on the last ``windows`` horizons
of the history (each forecast made from the data before its window), by mean absolute error
scaled by the series' in-sample seasonal naive error (MASE); the ensemble of the ``ensemble``
best is a candidate too, and so is the fixed combination of AutoETS, AutoTheta and AutoCES,
which another candidate displaces only by being ``COMBINATION_MARGIN`` better (and never when one window
is all the history allows: one held-out horizon is too few to choose on). The winner forecasts the horizon;
its predictive quantiles come from the same
cross-validation errors (split conformal, each series' errors in its own scale, pooled over
the group per step ahead), so every model gets them, clipped at zero like the forecast itself.
An interval at level L is the central one between the (1 ∓ L)/2 quantiles, or, where demand is
zero with more than (1 − L)/2 probability (spare parts), [0, the L quantile]: a central one would
cover more than L there.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)
REGULAR = ("SeasonalNaive", "AutoETS", "AutoTheta", "AutoCES", "MSTL")
INTERMITTENT = ("CrostonOptimized", "ADIDA", "IMAPA", "TSB")
ROBUST = ("AutoETS", "AutoTheta", "AutoCES")  # combined, they forecast what is too short to validate
ENSEMBLE = "Ensemble"
COMBINATION = "Combination"
EMPIRICAL = "Empirical"
MIN_FIT = 3  # fewer observations than this: the mean is all that can be said
ALIAS = {"AutoCES": "CES"}  # statsforecast's column name for a model, where it differs from the model's
# Selection over one or two held-out horizons is noisy, and the robust combination is the safer choice (M3 and
# M4 showed it): another candidate replaces it only if its cross-validated error is this much lower. Set before
# the pipeline was scored on the data sets it had not seen (bench/forecast_generalisation.py).
COMBINATION_MARGIN = 0.30


@dataclass(frozen=True)
class Settings:
    horizon: int
    season_length: int = 1
    extra_seasons: tuple[int, ...] = ()  # longer cycles MSTL also removes (e.g. 168 h, a week, for hourly data)
    levels: tuple[int, ...] = (80, 95)
    windows: int = 2  # rolling origins used to choose the model and calibrate intervals
    ensemble: int = 3  # how many of the best candidates the ensemble averages
    combination: tuple[str, ...] = ROBUST  # the fixed combination: what forecasts series too short to choose for
    margin: float = COMBINATION_MARGIN  # how much better another candidate must validate to displace it
    zero_share: float = 0.5  # series with more zeros than this are intermittent
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)


@dataclass
class SeriesForecast:
    id: str
    model: str
    mean: np.ndarray
    lower: dict[int, np.ndarray]
    upper: dict[int, np.ndarray]
    cv_mase: dict[str, float]  # every candidate's cross-validated error, the chosen one lowest
    quantiles: dict[float, np.ndarray] = field(default_factory=dict)  # probability → predictive quantile
    method: str = ""  # how it was chosen, in words: what the history allowed
    basis: str = ""  # the same as a code: validated (over the windows asked), validated-once, unvalidated, empirical


def _models(names: tuple[str, ...], season: int, extra: tuple[int, ...] = ()) -> list:
    from statsforecast.models import ADIDA, IMAPA, MSTL, TSB, AutoCES, AutoETS, AutoTheta, CrostonOptimized, SeasonalNaive

    build: dict[str, Callable[[], object]] = {
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season),
        "AutoETS": lambda: AutoETS(season_length=season if season <= 24 else 1),  # ETS caps seasons at 24
        "AutoTheta": lambda: AutoTheta(season_length=season),
        "AutoCES": lambda: AutoCES(season_length=season),
        "MSTL": lambda: MSTL(season_length=[season, *extra] if extra else season,
                             trend_forecaster=AutoETS(model="ZZN")),
        "CrostonOptimized": CrostonOptimized, "ADIDA": ADIDA, "IMAPA": IMAPA,
        "TSB": lambda: TSB(alpha_d=0.2, alpha_p=0.2),
    }
    return [build[name]() for name in names]


def _frame(series: dict[str, np.ndarray]) -> pd.DataFrame:
    return pd.DataFrame({
        "unique_id": np.repeat(list(series), [len(v) for v in series.values()]),
        "ds": np.concatenate([np.arange(len(v)) for v in series.values()]),
        "y": np.concatenate(list(series.values())).astype(float),
    })


def _scale(history: np.ndarray, season: int) -> float:
    lag = season if len(history) > season else 1
    diffs = np.abs(history[lag:] - history[:-lag])
    scale = float(np.mean(diffs)) if len(diffs) else 0.0
    return scale if scale > 0 else max(float(np.mean(np.abs(history))), 1e-9)


@dataclass(frozen=True)
class Group:
    """Series forecast together: the same candidate models, the same season."""

    series: dict[str, np.ndarray]
    models: tuple[str, ...]
    season: int
    extra_seasons: tuple[int, ...] = ()

    def statsforecast(self, jobs: int):  # -> statsforecast.StatsForecast (imported late: it is slow to load)
        from statsforecast import StatsForecast
        from statsforecast.models import Naive

        # a model that cannot be fitted to a short series (AutoCES on 8 points of a 7-day season) forecasts as
        # naive there, instead of failing every series of the group
        return StatsForecast(models=_models(self.models, self.season, self.extra_seasons), freq=1, n_jobs=jobs,
                             fallback_model=Naive())


def groups(series: dict[str, np.ndarray], settings: Settings) -> list[Group]:
    """Regular series (seasonal models) and mostly-zero ones (the intermittent family), each a group."""
    intermittent = {sid: v for sid, v in series.items() if np.mean(v == 0) > settings.zero_share}
    regular = {sid: v for sid, v in series.items() if sid not in intermittent}
    season = settings.season_length
    out = []
    if regular:
        out.append(Group(regular, tuple(n for n in REGULAR if n != "MSTL" or season > 1), season,
                         settings.extra_seasons))
    if intermittent:
        out.append(Group(intermittent, INTERMITTENT, 1))
    return out


def _forecast_group(group: Group, settings: Settings) -> tuple[list[SeriesForecast], np.ndarray]:
    """The group's forecasts, and its scaled cross-validation errors (series × windows × steps)."""
    series, season = group.series, group.season
    h = settings.horizon
    sf = group.statsforecast(settings.jobs)
    frame = _frame(series)
    cv = sf.cross_validation(df=frame, h=h, n_windows=settings.windows, step_size=h)
    final = sf.forecast(df=frame, h=h)
    model_columns = [c for c in final.columns if c not in ("unique_id", "ds")]
    combined = [ALIAS.get(m, m) for m in settings.combination if ALIAS.get(m, m) in model_columns]
    combined = combined if len(combined) == len(settings.combination) else []
    cv = cv.sort_values(["unique_id", "cutoff", "ds"])
    final = final.sort_values(["unique_id", "ds"])
    chosen_runs = []
    for (sid, past), (_, ahead) in zip(cv.groupby("unique_id", sort=True), final.groupby("unique_id", sort=True)):
        history = series[sid]
        actual = past["y"].to_numpy().reshape(settings.windows, h)
        predicted = {m: np.clip(past[m].to_numpy().reshape(settings.windows, h), 0, None) for m in model_columns}
        scale = _scale(history, season)
        errors = {m: float(np.nanmean(np.abs(actual - p)) / scale) for m, p in predicted.items()}
        ranked = sorted((e, m) for m, e in errors.items() if np.isfinite(e))
        best = [m for _, m in ranked[:settings.ensemble]]
        if len(best) > 1:
            predicted[ENSEMBLE] = np.mean([predicted[m] for m in best], axis=0)
            errors[ENSEMBLE] = float(np.mean(np.abs(actual - predicted[ENSEMBLE])) / scale)
        if combined:
            predicted[COMBINATION] = np.mean([predicted[m] for m in combined], axis=0)
            errors[COMBINATION] = float(np.mean(np.abs(actual - predicted[COMBINATION])) / scale)
        chosen = min(errors, key=lambda m: (errors[m], m != ENSEMBLE))
        # one held-out horizon decides nothing: the combination forecasts, the window only calibrates its spread
        if combined and (settings.windows < 2 or not errors[chosen] < (1 - settings.margin) * errors[COMBINATION]):
            chosen = COMBINATION
        if chosen == ENSEMBLE:
            mean = np.mean([ahead[m].to_numpy() for m in best], axis=0)
        elif chosen == COMBINATION:
            mean = np.mean([ahead[m].to_numpy() for m in combined], axis=0)
        else:
            mean = ahead[chosen].to_numpy()
        mean = np.clip(mean, 0, None)
        recent = history[-max(settings.windows * h, 2 * season):]
        chosen_runs.append((sid, chosen, mean, (actual - predicted[chosen]) / scale, scale, errors,
                            float(np.mean(recent == 0))))
    levels = settings.levels
    probabilities = sorted({p for level in levels for p in interval_probabilities(level)})
    central = sorted({p for level in levels for p in interval_probabilities(level)[:2]})
    scores = np.stack([r[3] for r in chosen_runs])  # series × windows × steps, in each series' own scale
    z = _pooled_quantiles(scores, probabilities)  # probability → (steps,)
    out = []
    for sid, chosen, mean, _, scale, errors, zero_share in chosen_runs:
        quantile = {p: np.clip(mean + scale * z[p], 0, None) for p in probabilities}
        lower, upper = _intervals(quantile, levels, zero_share)
        out.append(SeriesForecast(sid, chosen, mean, lower, upper, errors, {p: quantile[p] for p in central}))
    return out, scores


def interval_probabilities(level: int) -> tuple[float, float, float]:
    """The quantiles an interval at ``level`` % needs: the central pair, and the one-sided upper end."""
    return round((1 - level / 100) / 2, 6), round((1 + level / 100) / 2, 6), round(level / 100, 6)


def _pooled_quantiles(scores: np.ndarray, probabilities: list[float]) -> dict[float, np.ndarray]:
    """Split-conformal quantiles of the scaled cross-validation errors, per step ahead.

    The errors of all series of a group, each divided by its series' scale, are pooled for each
    step ahead, so the spread grows with the step as the data say; with the finite-sample
    correction (the ⌈(n + 1)·p⌉-th smallest for an upper quantile) a step needs enough errors to
    resolve the extreme probabilities. With fewer (a node with a handful of series), the steps are
    pooled too, each error divided by √step, and the quantile scaled back up by √step."""
    series, windows, steps = scores.shape
    n = series * windows
    extreme = max(max(probabilities), 1 - min(probabilities))
    if np.ceil((n + 1) * extreme) <= n:
        per_step = scores.reshape(n, steps)
        return {p: _conformal(per_step, p) for p in probabilities}
    growth = np.sqrt(np.arange(1, steps + 1))
    pooled = (scores / growth).reshape(-1, 1)
    return {p: _conformal(pooled, p)[0] * growth for p in probabilities}


def _conformal(samples: np.ndarray, p: float) -> np.ndarray:
    """Column-wise order statistic ⌈(n + 1)p⌉ (upper half) or ⌊(n + 1)p⌋ (lower half) of finite samples."""
    out = np.empty(samples.shape[1])
    for j in range(samples.shape[1]):
        column = np.sort(samples[:, j][np.isfinite(samples[:, j])])
        n = len(column)
        if n == 0:
            out[j] = np.inf if p >= 0.5 else -np.inf
            continue
        rank = np.ceil((n + 1) * p) if p >= 0.5 else np.floor((n + 1) * p)
        out[j] = column[int(np.clip(rank, 1, n)) - 1] if 1 <= rank <= n else (np.inf if p >= 0.5 else -np.inf)
    return out


def run(series: dict[str, np.ndarray], settings: Settings) -> list[SeriesForecast]:
    """Forecast every series: chosen by cross-validation where its history allows, else as the module says."""
    h, windows = settings.horizon, settings.windows
    lengths = {sid: len(v) for sid, v in series.items()}
    full = {sid: v for sid, v in series.items() if lengths[sid] >= h * (windows + 1)}
    one = {sid: v for sid, v in series.items() if sid not in full and lengths[sid] >= 2 * h}
    rest = {sid: np.asarray(v, float) for sid, v in series.items() if sid not in full and sid not in one}
    out: list[SeriesForecast] = []
    borrowed: dict[bool, list[np.ndarray]] = {False: [], True: []}  # intermittent? → scaled CV errors
    for chosen, tier_settings, basis, how in (
            (full, settings, "validated", f"chosen by cross-validation over {windows} windows"),
            (one, replace(settings, windows=1), "validated-once", "one cross-validation window (a short history): "
                                                                  "too few to choose on; the combination forecasts, "
                                                                  "the window sets its spread")):
        for group in groups(chosen, tier_settings):
            forecasts, scores = _forecast_group(group, tier_settings)
            out += [replace(f, method=how, basis=basis) for f in forecasts]
            borrowed[group.models == INTERMITTENT] += [scores[:, -1, :]]  # the last window: one per series
    out += _unvalidated(rest, settings, borrowed)
    order = {sid: i for i, sid in enumerate(series)}
    return sorted(out, key=lambda f: order[f.id])


def _unvalidated(series: dict[str, np.ndarray], settings: Settings,
                 borrowed: dict[bool, list[np.ndarray]]) -> list[SeriesForecast]:
    """Series too short to validate a model on: the robust combination where it can be fitted, else the mean;
    quantiles from the validated series' scaled errors (per step ahead), or none if no series was validated."""
    h = settings.horizon
    intermittent = {sid for sid, v in series.items() if np.mean(v == 0) > settings.zero_share}
    fit = {sid: v for sid, v in series.items() if len(v) >= MIN_FIT and sid not in intermittent}
    means: dict[str, np.ndarray] = {}
    if fit:
        seasonal = {sid: v for sid, v in fit.items() if len(v) >= 2 * settings.season_length}
        for part, season in ((seasonal, settings.season_length), ({k: v for k, v in fit.items() if k not in seasonal},
                                                                   1)):
            if not part:
                continue
            from statsforecast import StatsForecast
            from statsforecast.models import Naive

            sf = StatsForecast(models=_models(settings.combination, season), freq=1, n_jobs=settings.jobs,
                               fallback_model=Naive())
            ahead = sf.forecast(df=_frame(part), h=h).sort_values(["unique_id", "ds"])
            columns = [c for c in ahead.columns if c not in ("unique_id", "ds")]  # statsforecast's aliases
            for sid, rows in ahead.groupby("unique_id", sort=False):
                means[str(sid)] = np.clip(np.mean([rows[c].to_numpy() for c in columns], axis=0), 0, None)
    levels = settings.levels
    probabilities = sorted({p for level in levels for p in interval_probabilities(level)})
    central = sorted({p for level in levels for p in interval_probabilities(level)[:2]})
    out = []
    for sid, history in series.items():
        mean = means.get(sid)
        model = COMBINATION if mean is not None else EMPIRICAL
        if mean is None:
            mean = np.full(h, float(np.mean(history)) if len(history) else 0.0)
        how = (f"not validated ({len(history)} points, fewer than two horizons): the mean of "
               f"{', '.join(settings.combination)}" if model == COMBINATION else
               f"empirical: the mean of its {len(history)} point{'s' if len(history) != 1 else ''}")
        errors = borrowed[sid in intermittent] or borrowed[False] or borrowed[True]
        if errors:
            z = _pooled_quantiles(np.concatenate(errors)[:, None, :], probabilities)
            scale = _scale(history, settings.season_length) if len(history) > 1 else max(abs(float(mean[0])), 1e-9)
            quantile = {p: np.clip(mean + scale * z[p], 0, None) for p in probabilities}
        else:  # nothing was validated in this run: no spread can be said
            quantile = {p: np.full(h, np.inf if p > 0.5 else 0.0) for p in probabilities}
        zero_share = float(np.mean(history == 0)) if len(history) else 0.0
        lower, upper = _intervals(quantile, levels, zero_share)
        out.append(SeriesForecast(sid, model, mean, lower, upper, {}, {p: quantile[p] for p in central}, how,
                                  "unvalidated" if model == COMBINATION else "empirical"))
    return out


def _intervals(quantile: dict[float, np.ndarray], levels: tuple[int, ...],
               zero_share: float) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Central intervals; where demand is zero with more than the lower tail's probability (by the quantile, or
    by how often the series was zero lately), a central interval would cover more than asked or leave out the
    likeliest value: the interval is then [0, the level's quantile]."""
    lower, upper = {}, {}
    for level in levels:
        low, high, one_sided = interval_probabilities(level)
        zero = (quantile[low] <= 0) | (zero_share > low)
        lower[level] = np.where(zero, 0.0, quantile[low])
        upper[level] = np.where(zero, quantile[one_sided], quantile[high])
    return lower, upper
