"""Benchmarks in their short smoke mode, so that none rots unnoticed (the full runs live in bench/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def test_forecast_generalisation_runs_on_a_few_series_of_every_set():
    done = subprocess.run([sys.executable, str(BENCH / "forecast_generalisation.py"), "--smoke"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("m1-yearly", "m3-yearly", "m3-monthly", "tourism-yearly", "tourism-monthly"):
        assert f"{name}: 8 series" in done.stdout, done.stdout
    assert done.stdout.count("ours") == 9 and done.stdout.count("Theta") == 9
