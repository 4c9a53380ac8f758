"""Demand to replay: units per period, product and region, from the shipped car-part sales or a user's CSV.

The car-part sales (2,674 parts, 51 months, mostly intermittent) are mapped in a documented,
seeded way: the parts are shuffled and dealt round-robin into ``products`` product lines (a
line's demand is the sum of its parts'); each line's units in a period are split among
``regions`` by a multinomial draw with region shares drawn once per line (Dirichlet, α = 2).
A missing cell (a part not yet sold) counts as zero. Each monthly observation is replayed as
one simulated day.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

CARPARTS = "carparts_monthly_wide.csv"


class DemandFileError(ValueError):
    pass


@dataclass
class Demand:
    periods: list[str]  # labels, oldest first
    products: list[str]
    regions: list[str]
    units: np.ndarray  # int64 [period, product, region]
    source: str  # where it came from and how it was mapped, for the report

    def total(self) -> int:
        return int(self.units.sum())


def carparts_path() -> Path:
    return Path(str(resources.files("yuantou") / "demo_data" / CARPARTS))


def read_wide(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(periods, parts, units[period, part]) from a wide CSV: ``month`` then one column per part."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    values = np.zeros((len(body), len(header) - 1), dtype=np.int64)
    for i, row in enumerate(body):
        for j, cell in enumerate(row[1:]):
            if cell not in ("", "NA", "nan", "NaN"):
                values[i, j] = int(float(cell))
    return [r[0] for r in body], header[1:], values


def carparts(products: int = 12, regions: int = 3, seed: int = 7, path: Path | None = None) -> Demand:
    if products < 1 or regions < 1:
        raise DemandFileError("--products and --regions must be at least 1")
    periods, parts, values = read_wide(path or carparts_path())
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(parts))
    lines = np.zeros((len(periods), products), dtype=np.int64)
    for k, part in enumerate(order):
        lines[:, k % products] += values[:, part]
    shares = rng.dirichlet(np.full(regions, 2.0), size=products)
    units = np.zeros((len(periods), products, regions), dtype=np.int64)
    for t in range(len(periods)):
        for p in range(products):
            units[t, p] = rng.multinomial(lines[t, p], shares[p])
    source = (f"car-part sales, {len(parts):,} parts × {len(periods)} months ({periods[0]} to {periods[-1]}; "
              f"Hyndman et al. 2008, via the Monash forecasting archive, CC BY 4.0), parts dealt into {products} "
              f"product lines and split over {regions} regions (seed {seed}); one month replayed as one day")
    return Demand(periods, [f"line-{p + 1:02d}" for p in range(products)], [f"region-{r + 1}" for r in range(regions)],
                  units, source)


def read_long(path: Path) -> Demand:
    """A user's history in long CSV: ``date,region,product,quantity`` (whole units, one row per cell).
    Cells not given are zero; every problem names the file, the line and the column."""
    path = Path(path)
    try:
        handle = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise DemandFileError(f"{path}: cannot read ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        wanted = ["date", "region", "product", "quantity"]
        if reader.fieldnames is None or [c.strip().lower() for c in reader.fieldnames] != wanted:
            raise DemandFileError(f"{path}:1: the header must be exactly date,region,product,quantity "
                                  f"(found {','.join(reader.fieldnames or [])!r})")
        cells: dict[tuple[str, str, str], tuple[int, int]] = {}  # (date, product, region) → (units, line)
        for line, row in enumerate(reader, start=2):
            values = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
            if None in row:
                raise DemandFileError(f"{path}:{line}: more than four columns")
            for column in wanted:
                if not values.get(column):
                    raise DemandFileError(f"{path}:{line}: column {column!r} is empty")
            try:
                quantity = float(values["quantity"])
            except ValueError:
                raise DemandFileError(f"{path}:{line}: column 'quantity': {values['quantity']!r} is not a number") from None
            if quantity < 0 or quantity != int(quantity):
                raise DemandFileError(f"{path}:{line}: column 'quantity': {values['quantity']!r} must be a whole "
                                      "number of units, zero or more")
            key = (values["date"], values["product"], values["region"])
            if key in cells:
                raise DemandFileError(f"{path}:{line}: {key[0]}, {key[2]}, {key[1]} is given twice "
                                      f"(first on line {cells[key][1]})")
            cells[key] = (int(quantity), line)
    if not cells:
        raise DemandFileError(f"{path}: no rows after the header")
    periods = sorted({k[0] for k in cells})
    products = sorted({k[1] for k in cells})
    regions = sorted({k[2] for k in cells})
    index = ({d: i for i, d in enumerate(periods)}, {p: i for i, p in enumerate(products)},
             {r: i for i, r in enumerate(regions)})
    units = np.zeros((len(periods), len(products), len(regions)), dtype=np.int64)
    for (d, p, r), (q, _) in cells.items():
        units[index[0][d], index[1][p], index[2][r]] = q
    return Demand(periods, products, regions, units,
                  f"{path.name}: {len(cells):,} rows, {len(periods)} periods × {len(products)} products × "
                  f"{len(regions)} regions; each period replayed as one day")
