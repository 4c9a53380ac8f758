"""The M4 organisers' benchmarks and metrics, reproduced to the published figures before any model is judged."""

from __future__ import annotations

import numpy as np
import openpyxl
import pytest
from conftest import SHARED

from yuantou.forecast.benchmarks import is_seasonal, naive, naive2, seasonal_naive
from yuantou.forecast.metrics import mase, owa, smape
from yuantou.forecast.wide import SeriesFileError, read_wide_csv

M4 = SHARED / "forecasting/data/m4_hourly_weekly"
SETS = {"Hourly": (24, 48), "Weekly": (1, 13)}


def published() -> dict[tuple[str, str], tuple[float, float, float]]:
    """(method, frequency) -> (sMAPE, MASE, OWA) from the organisers' workbook."""
    sheet = openpyxl.load_workbook(M4 / "M4-Evaluation-and-Ranks.xlsx", read_only=True, data_only=True)[
        "Point Forecasts-Frequency"]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[1]
    out = {}
    for row in rows[2:]:
        if row[0] is None:
            continue
        for freq in SETS:
            cols = [i for i, name in enumerate(header) if name == freq]  # sMAPE, MASE, OWA in that order
            if all(isinstance(row[i], (int, float)) for i in cols):
                out[(str(row[0]), freq)] = tuple(float(row[i]) for i in cols)
    return out


@pytest.mark.parametrize("freq", list(SETS))
def test_naive_seasonal_naive_and_naive2_score_exactly_as_published(freq):
    season, horizon = SETS[freq]
    train, test = read_wide_csv(M4 / f"{freq}-train.csv"), read_wide_csv(M4 / f"{freq}-test.csv")
    official = read_wide_csv(M4 / "Naive2-forecasts-HW.csv")
    assert len(train) == len(test) == {"Hourly": 414, "Weekly": 359}[freq]
    scores = {name: ([], []) for name in ("Naive", "sNaive", "Naive2")}
    for sid, history in train.items():
        forecasts = {"Naive": naive(history, horizon), "sNaive": seasonal_naive(history, horizon, season),
                     "Naive2": naive2(history, horizon, season)}
        np.testing.assert_allclose(forecasts["Naive2"], official[sid][:horizon], rtol=1e-8)  # the organisers' own
        for name, forecast in forecasts.items():
            scores[name][0].append(smape(test[sid], forecast))
            scores[name][1].append(mase(test[sid], forecast, history, season))
    table = published()
    naive2_smape, naive2_mase = np.mean(scores["Naive2"][0]), np.mean(scores["Naive2"][1])
    for name, (s, m) in scores.items():
        want_smape, want_mase, want_owa = table[(name, freq)]
        assert round(np.mean(s), 3) == want_smape, name
        assert round(np.mean(m), 3) == want_mase, name
        assert owa(np.mean(s), np.mean(m), naive2_smape, naive2_mase) == pytest.approx(want_owa, abs=5e-4), name


def test_the_seasonality_test_follows_the_organisers_rule():
    hours = np.arange(24 * 30)
    daily = 100 + 30 * np.sin(2 * np.pi * hours / 24)
    assert is_seasonal(daily, 24)
    assert not is_seasonal(daily[:24 * 2], 24)  # shorter than three seasons
    rng = np.random.default_rng(1)  # a 90 % test: about one white-noise series in ten is flagged
    flagged = np.mean([is_seasonal(100 + rng.normal(size=24 * 30), 24) for _ in range(300)])
    assert 0.02 < flagged < 0.2
    assert not is_seasonal(daily, 1)


def test_wide_files_with_bad_cells_name_the_line_and_column(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text('"V1","V2","V3","V4"\n"A","1","2",""\n"B","3","x","4"\n')
    with pytest.raises(SeriesFileError, match=r"bad.csv: line 3, column 3 \(V3\): 'x' is not a number"):
        read_wide_csv(bad)
    gap = tmp_path / "gap.csv"
    gap.write_text('"V1","V2","V3","V4"\n"A","1","NaN","2"\n')
    with pytest.raises(SeriesFileError, match="a gap inside series 'A'"):
        read_wide_csv(gap)
    padded = tmp_path / "ok.csv"
    padded.write_text('"V1","V2","V3","V4"\n"A","1","2",""\n"B","3","4","5"\n')
    assert {k: list(v) for k, v in read_wide_csv(padded).items()} == {"A": [1, 2], "B": [3, 4, 5]}
