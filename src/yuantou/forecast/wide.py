"""Series in wide CSV, M4 style: an id column, then the values left to right, padded with empty cells."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np


class SeriesFileError(ValueError):
    pass


def read_wide_csv(path: Path) -> dict[str, np.ndarray]:
    """id → values (trailing padding dropped); a non-number names the file, line and column."""
    series: dict[str, np.ndarray] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if not header:
            raise SeriesFileError(f"{path}: empty file")
        for line, row in enumerate(rows, 2):
            if not row:
                continue
            sid, cells = row[0], row[1:]
            while cells and cells[-1].strip() in ("", "NA", "NaN"):
                cells.pop()
            values = []
            for column, cell in enumerate(cells, 2):
                try:
                    value = float(cell)
                except ValueError:
                    raise SeriesFileError(f"{path}: line {line}, column {column} ({header[column - 1] if column - 1 < len(header) else '?'}): "
                                          f"{cell!r} is not a number") from None
                if math.isnan(value):
                    raise SeriesFileError(f"{path}: line {line}, column {column}: a gap inside series {sid!r}")
                values.append(value)
            if sid in series:
                raise SeriesFileError(f"{path}: line {line}: series {sid!r} appears twice")
            series[sid] = np.array(values)
    return series
