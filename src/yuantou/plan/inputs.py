"""Demand files for a plan made from the command line: confirmed orders and forecasts as CSV.

Orders: ``id,product,region,due,quantity[,price]`` (price defaults to the twin's).
Forecasts: what ``yuantou forecast run`` writes — ``id,date,mean,lo-80,hi-80,...,q-10,q-90,...[,model]``
— with the series id ``PRODUCT/REGION``, or explicit ``product`` and ``region`` columns. ``q-P``
columns are the P % quantiles; a file without them has its intervals at level L taken as the
quantiles (1 − L)/2 and (1 + L)/2. The mean stands for the median. Errors name the file, the line and the column.
"""

from __future__ import annotations

import csv
import math
import re
from datetime import date
from pathlib import Path

from yuantou.domain.twin import ConfirmedOrder, ForecastDemand, Twin, TwinError

BOUND = re.compile(r"^(lo|hi)-(\d+(?:\.\d+)?)$")
QUANTILE = re.compile(r"^q-(\d+(?:\.\d+)?)$")


def _rows(path: Path, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise TwinError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise TwinError(f"{path.name}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise TwinError(f"{path.name}: line 1: column {missing[0]!r} is missing (found {', '.join(header) or 'nothing'})")
    reader.fieldnames = header
    out = []
    for row in reader:
        if None in row:
            raise TwinError(f"{path.name}: line {reader.line_num}: more fields than the header has columns")
        if any((v or "").strip() for v in row.values()):
            out.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    return header, out


def _number(path: Path, line: int, column: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise TwinError(f"{path.name}: line {line}: {column}: should be a number, 0 or more, found {raw!r}")
    return value


def _day(path: Path, line: int, column: str, raw: str) -> date:
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise TwinError(f"{path.name}: line {line}: {column}: should be a date like 2026-12-01, found {raw!r}") from None


def read_orders(path: Path, twin: Twin) -> list[ConfirmedOrder]:
    _, rows = _rows(path, ("id", "product", "region", "due", "quantity"))
    products = {p.id: p for p in twin.products}
    regions = {lane.region for lane in twin.lanes}
    orders = []
    for line, row in rows:
        if row["product"] not in products:
            raise TwinError(f"{path.name}: line {line}: product: {row['product']!r} is not in the twin")
        if row["region"] not in regions:
            raise TwinError(f"{path.name}: line {line}: region: no lane delivers to {row['region']!r}")
        price = _number(path, line, "price", row["price"]) if row.get("price") else products[row["product"]].price
        orders.append(ConfirmedOrder(row["id"] or f"line-{line}", row["product"], row["region"],
                                     _day(path, line, "due", row["due"]),
                                     _number(path, line, "quantity", row["quantity"]), price))
    return orders


def read_forecasts(path: Path) -> list[ForecastDemand]:
    header, rows = _rows(path, ("date", "mean"))
    explicit = "product" in header and "region" in header
    if not explicit and "id" not in header:
        raise TwinError(f"{path.name}: line 1: needs an id column (PRODUCT/REGION) or product and region columns")
    bounds = []
    for column in header:
        match = QUANTILE.match(column)
        if match:
            probability = float(match.group(1)) / 100
            if not 0 < probability < 1:
                raise TwinError(f"{path.name}: line 1: {column}: the quantile must be between 0 and 100")
            bounds.append((column, probability))
    for column in header if not bounds else ():  # without quantiles, intervals are taken as central
        match = BOUND.match(column)
        if match:
            level = float(match.group(2)) / 100
            if not 0 < level < 1:
                raise TwinError(f"{path.name}: line 1: {column}: the level must be between 0 and 100")
            bounds.append((column, (1 - level) / 2 if match.group(1) == "lo" else (1 + level) / 2))
    out = []
    for line, row in rows:
        if explicit:
            product, region = row["product"], row["region"]
        else:
            product, _, region = row["id"].rpartition("/")
            if not product:
                raise TwinError(f"{path.name}: line {line}: id: {row['id']!r} should read PRODUCT/REGION")
        mean = _number(path, line, "mean", row["mean"])
        quantiles = tuple(sorted([(0.5, mean)] + [(q, _number(path, line, c, row[c])) for c, q in bounds]))
        out.append(ForecastDemand(product, region, _day(path, line, "date", row["date"]), mean, quantiles))
    return out
