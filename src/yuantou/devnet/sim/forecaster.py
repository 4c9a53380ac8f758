"""The network producers' forecast of the demand they sell on the day (not pooled): Yuantou's own
forecasting pipeline (the one a producer node runs), refitted every ``every`` days on what it has
seen, asked for the quantile its newsvendor rule wants."""

from __future__ import annotations

import numpy as np

from yuantou.forecast.pipeline import Settings, run

PROBABILITIES = (0.1, 0.25, 0.5, 0.75, 0.9)


class Refitted:
    """A forecast refitted every ``every`` days: ``_fit(day)`` fills ``quantiles`` for the days from then on."""

    def __init__(self, every: int) -> None:
        self.every = max(1, every)
        self.quantiles: dict[float, np.ndarray] = {}  # probability → [day in the fitted horizon, product]
        self.fitted_at: int | None = None
        self.models: dict[str, int] = {}
        self.fits = 0

    def quantile(self, day: int, product: int, probability: float) -> float:
        """The forecast's quantile nearest ``probability`` for replay day ``day``."""
        if self.fitted_at is None or day - self.fitted_at >= self.every:
            self._fit(day)
            self.fitted_at = day
            self.fits += 1
        nearest = min(PROBABILITIES, key=lambda p: abs(p - probability))
        return float(self.quantiles[nearest][day - self.fitted_at, product])

    def _fit(self, day: int) -> None:
        raise NotImplementedError


class SpotForecaster(Refitted):
    def __init__(self, history: np.ndarray, every: int = 7, season: int = 1) -> None:
        """``history``: units per day (rows) and product (columns) seen before the replay starts."""
        super().__init__(every)
        self.seen = [list(map(float, column)) for column in np.asarray(history, dtype=float).T]
        self.season = season

    def observe(self, product: int, units: float) -> None:
        self.seen[product].append(float(units))

    def _fit(self, day: int) -> None:
        horizon = self.every
        series = {str(p): np.asarray(v) for p, v in enumerate(self.seen)}
        settings = Settings(horizon=horizon, season_length=self.season, levels=(50, 80), windows=2, jobs=1)
        long = {k: v for k, v in series.items() if len(v) >= horizon * (settings.windows + 1)}
        table = {p: np.zeros((horizon, len(series))) for p in PROBABILITIES}
        if long:
            for f in run(long, settings):
                column = int(f.id)
                self.models[f.model] = self.models.get(f.model, 0) + 1
                for p in PROBABILITIES:
                    table[p][:, column] = np.maximum(0.0, f.quantiles.get(p, f.mean))
        for key, values in series.items():  # too short to choose a model: the recent days' quantiles
            if key in long:
                continue
            recent = values[-28:] if len(values) else np.zeros(1)
            for p in PROBABILITIES:
                table[p][:, int(key)] = float(np.quantile(recent, p))
        self.quantiles = table
