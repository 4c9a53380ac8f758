"""Building a HiGHS model from numpy blocks: columns and rows come in arrays, entries as triplets.

A block of columns (say production per route × day) is reserved in one call and handed back
as an array of column indices of the block's shape, so constraints are written as whole
arrays of (row, column, value) and the matrix is assembled once, in compressed columns, and
passed to HiGHS in one ``passModel``: no Python call per variable.
"""

from __future__ import annotations

import highspy
import numpy as np
from scipy import sparse

INF = highspy.kHighsInf


class ModelBuilder:
    def __init__(self) -> None:
        self._cols: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []  # (lower, upper, cost, integer)
        self._rows: list[tuple[np.ndarray, np.ndarray]] = []
        self._entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.num_cols = 0
        self.num_rows = 0
        self.offset = 0.0

    def columns(self, shape: tuple[int, ...], lower: float | np.ndarray = 0.0, upper: float | np.ndarray = INF,
                cost: float | np.ndarray = 0.0, integer: bool = False) -> np.ndarray:
        """Reserve columns; returns their indices in ``shape``."""
        size = int(np.prod(shape))
        self._cols.append(tuple(np.broadcast_to(np.asarray(v, dtype=float), shape).ravel().copy()
                                for v in (lower, upper, cost)) + (integer,))
        index = np.arange(self.num_cols, self.num_cols + size).reshape(shape)
        self.num_cols += size
        return index

    def rows(self, shape: tuple[int, ...], lower: float | np.ndarray = -INF,
             upper: float | np.ndarray = INF) -> np.ndarray:
        """Reserve rows ``lower <= a·x <= upper``; returns their indices in ``shape``."""
        size = int(np.prod(shape))
        self._rows.append(tuple(np.broadcast_to(np.asarray(v, dtype=float), shape).ravel().copy()
                                for v in (lower, upper)))
        index = np.arange(self.num_rows, self.num_rows + size).reshape(shape)
        self.num_rows += size
        return index

    def add(self, rows: np.ndarray, cols: np.ndarray, values: float | np.ndarray = 1.0) -> None:
        """Matrix entries, broadcast together (a row block against a column block, say)."""
        rows, cols, values = np.broadcast_arrays(np.asarray(rows), np.asarray(cols), np.asarray(values, dtype=float))
        self._entries.append((rows.ravel(), cols.ravel(), values.ravel()))

    def integer_columns(self) -> np.ndarray:
        flags = np.concatenate([np.full(len(c[0]), c[3]) for c in self._cols]) if self._cols else np.zeros(0, bool)
        return np.nonzero(flags)[0]

    def lp(self, maximize: bool = False) -> highspy.HighsLp:
        lower, upper, cost = (np.concatenate([c[i] for c in self._cols]) for i in range(3))
        row_lower, row_upper = (np.concatenate([r[i] for r in self._rows]) if self._rows else np.zeros(0)
                                for i in range(2))
        rows, cols, values = (np.concatenate([e[i] for e in self._entries]) if self._entries else np.zeros(0)
                              for i in range(3))
        keep = values != 0
        matrix = sparse.csc_matrix((values[keep], (rows[keep].astype(np.int64), cols[keep].astype(np.int64))),
                                   shape=(self.num_rows, self.num_cols))
        matrix.sum_duplicates()
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.num_cols, self.num_rows
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lower, upper
        lp.row_lower_, lp.row_upper_ = row_lower, row_upper
        lp.offset_ = self.offset
        lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr
        lp.a_matrix_.index_ = matrix.indices
        lp.a_matrix_.value_ = matrix.data
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = self.num_cols, self.num_rows
        integers = self.integer_columns()
        if len(integers):
            kinds = [highspy.HighsVarType.kContinuous] * self.num_cols
            for i in integers.tolist():
                kinds[i] = highspy.HighsVarType.kInteger
            lp.integrality_ = kinds
        return lp
