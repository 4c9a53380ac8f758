"""Building a HiGHS model from numpy blocks: columns and rows come in arrays, entries as triplets.

A block of columns (say production per route × day) is reserved in one call and handed back
as an array of column indices of the block's shape, so constraints are written as whole
arrays of (row, column, value) and the matrix is assembled once, in compressed columns, and
passed to HiGHS in one ``passModel``: no Python call per variable.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        low, high, price = (np.broadcast_to(np.asarray(v, dtype=float), shape).ravel().copy() for v in (lower, upper, cost))
        self._cols.append((low, high, price, integer))
        index = np.arange(self.num_cols, self.num_cols + size).reshape(shape)
        self.num_cols += size
        return index

    def rows(self, shape: tuple[int, ...], lower: float | np.ndarray = -INF,
             upper: float | np.ndarray = INF) -> np.ndarray:
        """Reserve rows ``lower <= a·x <= upper``; returns their indices in ``shape``."""
        size = int(np.prod(shape))
        low, high = (np.broadcast_to(np.asarray(v, dtype=float), shape).ravel().copy() for v in (lower, upper))
        self._rows.append((low, high))
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

    def finish(self) -> LPData:
        """The model as arrays: bounds, costs and the matrix in compressed columns."""
        lower, upper, cost = (np.concatenate([c[i] for c in self._cols]) for i in range(3))
        row_lower, row_upper = (np.concatenate([r[i] for r in self._rows]) if self._rows else np.zeros(0)
                                for i in range(2))
        rows, cols, values = (np.concatenate([e[i] for e in self._entries]) if self._entries else np.zeros(0)
                              for i in range(3))
        keep = values != 0
        matrix = sparse.csc_matrix((values[keep], (rows[keep].astype(np.int64), cols[keep].astype(np.int64))),
                                   shape=(self.num_rows, self.num_cols))
        matrix.sum_duplicates()
        integer = np.zeros(self.num_cols, dtype=bool)
        integer[self.integer_columns()] = True
        return LPData(lower, upper, cost, row_lower, row_upper, matrix.indptr.astype(np.int64),
                      matrix.indices.astype(np.int32), matrix.data, self.offset, integer)



@dataclass
class LPData:
    """An LP as numpy arrays, ready for HiGHS; more columns can be appended without rebuilding the rest."""

    col_lower: np.ndarray
    col_upper: np.ndarray
    cost: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray  # compressed columns: column j's entries are index/value[start[j]:start[j + 1]]
    index: np.ndarray
    value: np.ndarray
    offset: float
    integer: np.ndarray  # (n,) bool

    @property
    def num_cols(self) -> int:
        return len(self.cost)

    @property
    def num_rows(self) -> int:
        return len(self.row_lower)

    def with_columns(self, lower: np.ndarray, upper: np.ndarray, cost: np.ndarray, start: np.ndarray,
                     index: np.ndarray, value: np.ndarray) -> LPData:
        """This LP with continuous columns appended (``start`` counts from 0 for the new block)."""
        return LPData(np.concatenate([self.col_lower, lower]), np.concatenate([self.col_upper, upper]),
                      np.concatenate([self.cost, cost]), self.row_lower, self.row_upper,
                      np.concatenate([self.start, self.start[-1] + start[1:]]),
                      np.concatenate([self.index, index.astype(np.int32)]), np.concatenate([self.value, value]),
                      self.offset, np.concatenate([self.integer, np.zeros(len(cost), dtype=bool)]))

    def highs(self, maximize: bool = False, integer: bool = True) -> highspy.HighsLp:
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.num_cols, self.num_rows
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = self.cost, self.col_lower, self.col_upper
        lp.row_lower_, lp.row_upper_ = self.row_lower, self.row_upper
        lp.offset_ = self.offset
        lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = self.start
        lp.a_matrix_.index_ = self.index
        lp.a_matrix_.value_ = self.value
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = self.num_cols, self.num_rows
        if integer and self.integer.any():
            kinds = [highspy.HighsVarType.kContinuous] * self.num_cols
            for i in np.nonzero(self.integer)[0].tolist():
                kinds[i] = highspy.HighsVarType.kInteger
            lp.integrality_ = kinds
        return lp
