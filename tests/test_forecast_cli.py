"""`yuantou forecast run` for a planner with a spreadsheet: long CSV in, forecasts with intervals out."""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date, timedelta

import numpy as np
import pytest

from yuantou.forecast.long_csv import HistoryFileError, read_long_csv


def forecast(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "yuantou.cli", "forecast", "run", *args],
                          capture_output=True, text=True, timeout=300)


def write(path, rows, header=("id", "date", "quantity")) -> None:  # noqa: ANN001
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)


def test_daily_history_becomes_dated_forecasts_with_intervals(tmp_path):
    rng = np.random.default_rng(0)
    rows = [(sid, (date(2026, 1, 1) + timedelta(days=k)).isoformat(), round(40 + 10 * np.sin(2 * np.pi * k / 7)
                                                                         + rng.normal(0, 2), 1))
            for sid in ("apples", "pears") for k in range(120) if not (sid == "pears" and k == 50)]
    write(tmp_path / "history.csv", rows)
    done = forecast("--history", str(tmp_path / "history.csv"), "--horizon", "7", "--freq", "D",
                    "--level", "80", "--level", "95", "--out", str(tmp_path / "out.csv"))
    assert done.returncode == 0, done.stderr
    assert "1 missing periods counted as zero" in done.stdout
    with open(tmp_path / "out.csv") as handle:
        out = list(csv.DictReader(handle))
    assert list(out[0]) == ["id", "date", "mean", "lo-80", "hi-80", "lo-95", "hi-95", "q-2.5", "q-10", "q-90",
                            "q-97.5", "model"]
    assert [r["date"] for r in out if r["id"] == "apples"] == [f"2026-05-0{d}" for d in range(1, 8)]
    for r in out:
        lo95, lo80, mean, hi80, hi95 = (float(r[k]) for k in ("lo-95", "lo-80", "mean", "hi-80", "hi-95"))
        assert 0 <= lo95 <= lo80 <= mean <= hi80 <= hi95
        assert (float(r["q-10"]), float(r["q-90"])) == (lo80, hi80)  # a smooth series: central intervals
        assert 25 < mean < 55  # the weekly wave around 40
        assert r["model"]


def test_integer_steps_are_accepted_and_continued(tmp_path):
    write(tmp_path / "steps.csv", [("x", k, float(k % 4 + 1)) for k in range(10, 50)])
    done = forecast("--history", str(tmp_path / "steps.csv"), "--horizon", "4", "--season-length", "4",
                    "--out", str(tmp_path / "out.csv"))
    assert done.returncode == 0, done.stderr
    with open(tmp_path / "out.csv") as handle:
        assert [r["date"] for r in csv.DictReader(handle)] == ["50", "51", "52", "53"]


@pytest.mark.parametrize("rows, message", [
    ([("a", "2026-01-01", "3"), ("a", "2026-01-02", "lots")], r"line 3, column quantity: 'lots' is not a number"),
    ([("a", "2026-01-01", "3"), ("a", "2026-01-01", "4")], r"line 3: series 'a' has '2026-01-01' twice"),
    ([("a", "2026-01-01", "3"), ("a", "7", "4")], r"line 3, column date: '7' mixes calendar dates and integer steps"),
    ([("a", "yesterday", "3")], r"line 2, column date: 'yesterday' is neither an integer step nor an ISO date"),
    ([("a", "2026-01-01", "-3")], r"line 2, column quantity: '-3' is not a quantity >= 0"),
])
def test_bad_rows_are_named_by_line_and_column(tmp_path, rows, message):
    write(tmp_path / "h.csv", rows)
    with pytest.raises(HistoryFileError, match=message):
        read_long_csv(tmp_path / "h.csv", "D")


def test_the_command_refuses_clearly_and_forecasts_a_one_day_history(tmp_path):
    write(tmp_path / "h.csv", [("a", "2026-01-01", "3")], header=("sku", "date", "quantity"))
    bad_header = forecast("--history", str(tmp_path / "h.csv"), "--horizon", "2", "--freq", "D", "--out", "o.csv")
    assert bad_header.returncode == 2 and "line 1: the header needs columns id, date, quantity; missing id" in bad_header.stderr
    write(tmp_path / "d.csv", [("a", "2026-01-01", "3")])
    no_freq = forecast("--history", str(tmp_path / "d.csv"), "--horizon", "2", "--out", "o.csv")
    assert no_freq.returncode == 2 and "give their frequency (--freq" in no_freq.stderr
    # one day of history is enough to forecast from: the command says how it was done
    short = forecast("--history", str(tmp_path / "d.csv"), "--horizon", "2", "--freq", "D", "--out",
                     str(tmp_path / "o.csv"))
    assert short.returncode == 0, short.stderr
    assert "1 series empirical: the mean of its 1 point" in short.stdout and (tmp_path / "o.csv").exists()


def test_the_planner_reads_quantile_columns_before_intervals(tmp_path):
    from yuantou.domain.twin import TwinError
    from yuantou.plan.inputs import read_forecasts

    path = tmp_path / "forecast.csv"
    path.write_text("id,date,mean,lo-80,hi-80,q-10,q-90,model\n"
                    "bolt/north,2026-12-01,0.3,0,0,0,1.2,TSB\n"
                    "nut/north,2026-12-01,5,4,6,,,AutoETS\n")
    with pytest.raises(TwinError, match=r"forecast.csv: line 3: q-10"):
        read_forecasts(path)
    path.write_text("id,date,mean,lo-80,hi-80,q-10,q-90,model\nbolt/north,2026-12-01,0.3,0,0,0,1.2,TSB\n")
    [bolt] = read_forecasts(path)
    assert bolt.quantiles == ((0.1, 0.0), (0.5, 0.3), (0.9, 1.2))  # the interval [0, 0] is not a quantile pair
    path.write_text("id,date,mean,lo-80,hi-80\nbolt/north,2026-12-01,5,4,6\n")
    assert np.array(read_forecasts(path)[0].quantiles) == pytest.approx(np.array([[0.1, 4.0], [0.5, 5.0], [0.9, 6.0]]))
    path.write_text("id,date,mean,q-150\nbolt/north,2026-12-01,5,4\n")
    with pytest.raises(TwinError, match=r"line 1: q-150: the quantile must be between 0 and 100"):
        read_forecasts(path)
