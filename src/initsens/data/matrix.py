"""Expression matrices held dense (``numpy``) or sparse (``scipy.sparse`` CSR, as AnnData keeps
counts).

A sparse matrix stays sparse through loading and the per-sample transforms (both map 0 to 0) and
becomes dense only when the selected genes are taken out: a 10,000 x 60,000 count matrix with 10%
non-zero values needs 0.5 GB sparse and 2.4 GB dense (4.8 GB in float64). These helpers give both
kinds one interface.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeAlias

import numpy as np
from scipy import sparse

#: A dense ``np.ndarray`` or a ``scipy.sparse`` CSR matrix (``Any`` for the type checker: scipy has
#: no stubs).
Matrix: TypeAlias = Any

#: Rows (or columns) turned dense at a time where a computation needs dense values.
BLOCK = 1024


def is_sparse(X: Matrix) -> bool:
    """Whether ``X`` is a scipy.sparse matrix."""
    return sparse.issparse(X)


def as_matrix(X: Matrix) -> Matrix:
    """Dense C-contiguous float32, or sparse float32 CSR with sorted, summed indices."""
    if not is_sparse(X):
        return np.ascontiguousarray(X, dtype=np.float32)
    X = sparse.csr_matrix(X, dtype=np.float32)
    X.sum_duplicates()
    return X


def stored_values(X: Matrix) -> np.ndarray:
    """The values held in memory: every value of a dense matrix, the non-zero ones of a sparse
    one.
    """
    return X.data if is_sparse(X) else X.ravel()


def has_implicit_zeros(X: Matrix) -> bool:
    """Whether a sparse ``X`` leaves some values unstored (zeros)."""
    return is_sparse(X) and X.nnz < X.shape[0] * X.shape[1]


def value_range(X: Matrix) -> tuple[float, float]:
    """(min, max) over every value, a sparse matrix's implicit zeros included."""
    values = stored_values(X)
    low = float(values.min()) if values.size else 0.0
    high = float(values.max()) if values.size else 0.0
    if has_implicit_zeros(X):
        low, high = min(low, 0.0), max(high, 0.0)
    return low, high


def value_mean(X: Matrix) -> float:
    """Mean over every value, implicit zeros included."""
    return float(stored_values(X).sum(dtype=np.float64) / (X.shape[0] * X.shape[1]))


def row_blocks(X: Matrix, size: int = BLOCK) -> Iterator[np.ndarray]:
    """Dense float32 blocks of consecutive rows, so a sparse matrix is never dense all at once."""
    for start in range(0, X.shape[0], size):
        block = X[start : start + size]
        yield block.toarray() if is_sparse(block) else block


def column_blocks(X: Matrix, size: int = BLOCK) -> Iterator[tuple[int, np.ndarray]]:
    """(first column, dense block of consecutive columns) over the matrix."""
    columns = X.tocsc() if is_sparse(X) else X
    for start in range(0, X.shape[1], size):
        block = columns[:, start : start + size]
        yield start, block.toarray() if is_sparse(block) else block


def dense_block(X: Matrix, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """``X[rows][:, columns]`` as dense float32 (the only full densification: after gene
    selection).
    """
    if is_sparse(X):
        return np.asarray(X[rows][:, columns].toarray(), dtype=np.float32)
    return X[np.ix_(rows, columns)]


def column_min_max(X: Matrix) -> tuple[np.ndarray, np.ndarray]:
    """Per-gene minimum and maximum (implicit zeros included)."""
    if is_sparse(X):
        return (
            np.asarray(X.min(axis=0).todense()).ravel(),
            np.asarray(X.max(axis=0).todense()).ravel(),
        )
    return X.min(axis=0), X.max(axis=0)


def nonfinite_mask(X: Matrix) -> Matrix:
    """Where the values are NaN or infinite: a boolean array, or a sparse boolean matrix for a
    sparse ``X``.
    """
    if not is_sparse(X):
        return ~np.isfinite(X)
    bad = X.copy()
    bad.data = (~np.isfinite(X.data)).astype(np.float32)
    bad.eliminate_zeros()
    return bad.astype(bool)
