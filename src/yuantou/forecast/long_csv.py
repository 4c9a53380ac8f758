"""Demand history in long CSV (``id,date,quantity``) for planners with a spreadsheet, and forecasts back out.

``date`` is either a calendar date/time (ISO 8601) or an integer step; one file uses one
kind. Periods a series skips are sales of zero (a day with no order sold nothing), filled
in at the file's frequency. Anything else odd (a duplicate date, a negative or missing
quantity, a date that does not fall on the frequency's grid) is refused with the file,
the line and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

FREQUENCIES = ("H", "D", "W", "M", "Q", "Y")
DEFAULT_SEASON = {"H": 24, "D": 7, "W": 52, "M": 12, "Q": 4, "Y": 1}


class HistoryFileError(ValueError):
    pass


@dataclass
class History:
    values: dict[str, np.ndarray]  # id → quantities, oldest first, gaps filled with 0
    starts: dict[str, datetime | int]  # id → its first period
    freq: str | None  # None for integer steps
    filled: int  # periods that were missing and counted as zero


def _months(d: datetime) -> int:
    return d.year * 12 + d.month - 1


def period_index(d: datetime, freq: str) -> int:
    """A date's position on the frequency's grid (consecutive periods differ by 1)."""
    if freq == "H":
        return int((d - datetime(1970, 1, 1, tzinfo=d.tzinfo)).total_seconds() // 3600)
    if freq in ("D", "W"):
        days = (d.date() - datetime(1970, 1, 1).date()).days
        return days if freq == "D" else days // 7
    months = _months(d)
    return {"M": months, "Q": months // 3, "Y": months // 12}[freq]


def step_date(start: datetime, k: int, freq: str) -> datetime:
    """The date ``k`` periods after ``start``."""
    if freq == "H":
        return start + timedelta(hours=k)
    if freq == "D":
        return start + timedelta(days=k)
    if freq == "W":
        return start + timedelta(weeks=k)
    months = _months(start) + k * {"M": 1, "Q": 3, "Y": 12}[freq]
    return start.replace(year=months // 12, month=months % 12 + 1, day=1)


def read_long_csv(path: Path, freq: str | None = None) -> History:
    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise HistoryFileError(f"{path}: {exc.strerror or exc}") from None
    with handle:
        return read_long_rows(handle, str(path), freq)


def read_long_rows(handle: Iterable[str], path: str, freq: str | None = None) -> History:
    """``read_long_csv`` of lines already open (an upload's text); ``path`` names them in errors."""
    rows = csv.reader(handle)
    header = [h.strip().lower() for h in next(rows, [])]
    missing = [c for c in ("id", "date", "quantity") if c not in header]
    if missing:
        raise HistoryFileError(f"{path}: line 1: the header needs columns id, date, quantity; missing {', '.join(missing)}")
    col = {c: header.index(c) for c in ("id", "date", "quantity")}
    points: dict[str, dict[int, float]] = {}
    kind: str | None = None
    firsts: dict[str, tuple[int, datetime | int]] = {}  # id → (its first period, as written)
    for line, row in enumerate(rows, 2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            sid, raw_date, raw_qty = (row[col[c]].strip() for c in ("id", "date", "quantity"))
        except IndexError:
            raise HistoryFileError(f"{path}: line {line}: expected {len(header)} columns, found {len(row)}") from None
        if not sid:
            raise HistoryFileError(f"{path}: line {line}, column id: empty")
        try:
            quantity = float(raw_qty)
        except ValueError:
            raise HistoryFileError(f"{path}: line {line}, column quantity: {raw_qty!r} is not a number") from None
        if not np.isfinite(quantity) or quantity < 0:
            raise HistoryFileError(f"{path}: line {line}, column quantity: {raw_qty!r} is not a quantity >= 0")
        this_kind, when = _parse_date(raw_date)
        if this_kind is None:
            raise HistoryFileError(f"{path}: line {line}, column date: {raw_date!r} is neither an integer step "
                                   f"nor an ISO date")
        if kind is None:
            kind = this_kind
            if kind == "date" and freq is None:
                raise HistoryFileError(f"{path}: dates are calendar dates: give their frequency (--freq "
                                       f"{'|'.join(FREQUENCIES)})")
        elif this_kind != kind:
            raise HistoryFileError(f"{path}: line {line}, column date: {raw_date!r} mixes calendar dates and "
                                   f"integer steps")
        if isinstance(when, int):
            index = when
        else:  # a calendar date, and the frequency is known (checked above)
            index = period_index(when, freq or "D")
            if freq in ("M", "Q", "Y") and when.day != 1:
                raise HistoryFileError(f"{path}: line {line}, column date: {raw_date!r} is not the first day of a "
                                       f"{'month' if freq == 'M' else 'quarter' if freq == 'Q' else 'year'}")
        series = points.setdefault(sid, {})
        if index in series:
            raise HistoryFileError(f"{path}: line {line}: series {sid!r} has {raw_date!r} twice")
        series[index] = quantity
        first = firsts.get(sid)
        if first is None or index < first[0]:
            firsts[sid] = (index, when)
    if not points:
        raise HistoryFileError(f"{path}: no rows after the header")
    values, filled = {}, 0
    for sid, series in points.items():
        lo, hi = min(series), max(series)
        dense = np.zeros(hi - lo + 1)
        for index, quantity in series.items():
            dense[index - lo] = quantity
        filled += len(dense) - len(series)
        values[sid] = dense
    return History(values, {sid: when for sid, (_, when) in firsts.items()}, freq if kind == "date" else None, filled)


def _parse_date(text: str) -> tuple[str | None, datetime | int]:
    try:
        return "step", int(text)
    except ValueError:
        pass
    try:
        return "date", datetime.fromisoformat(text)
    except ValueError:
        return None, 0


def write_forecasts(path: Path, history: History, forecasts: list, levels: tuple[int, ...]) -> None:
    """``id,date,mean,lo-80,hi-80,...,q-10,q-90,...,model``: one row per series and period ahead; ``q-P`` is
    the P % quantile (what the planner reads: an interval may start at zero rather than at its lower quantile)."""
    probabilities = sorted({p for f in forecasts for p in f.quantiles})
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["id", "date", "mean", *[f"{side}-{lv}" for lv in levels for side in ("lo", "hi")],
                      *[f"q-{100 * p:g}" for p in probabilities], "model"])
        for f in forecasts:
            start, n = history.starts[f.id], len(history.values[f.id])
            for k, mean in enumerate(f.mean):
                if isinstance(start, int):
                    when = str(start + n + k)
                else:
                    when = step_date(start, n + k, history.freq or "D").isoformat()
                    if when.endswith("T00:00:00"):
                        when = when[:-9]
                bounds = [f"{b:.4f}" for lv in levels for b in (f.lower[lv][k], f.upper[lv][k])]
                quantiles = [f"{f.quantiles[p][k]:.4f}" for p in probabilities]
                out.writerow([f.id, when, f"{mean:.4f}", *bounds, *quantiles, f.model])
