"""Per-sample value transforms applied before gene selection: ``auto``, ``none``, ``log2p1``,
``log2cpm``.

Raw counts must be on a log scale before the most variable genes are chosen, or the MAD ranks genes
by expression level. Each transform works on one sample at a time, so nothing crosses the
train/validation split; ``auto`` picks ``log2cpm`` for values that look like counts (see
:doc:`Bring your own data </guide/data>`).
"""

from __future__ import annotations

import numpy as np

from initsens.data.matrix import Matrix, is_sparse, stored_values, value_range
from initsens.errors import InitsensError

TRANSFORMS = {
    "auto": "log2cpm when the values look like raw counts (non-negative whole numbers, max > "
    "1,000), else none",
    "none": "values as they are (already log-scale expression, e.g. log2(RSEM + 1))",
    "log2p1": "log2(x + 1) per value",
    "log2cpm": "log2(counts per million + 1): each sample divided by its total, times 1e6",
}
COUNTS_MAX = 1000.0


def looks_like_counts(X: Matrix) -> bool:
    """Non-negative whole numbers with a maximum above 1,000: raw read counts, not
    log-expression.
    """
    low, high = value_range(X)
    return (
        bool(X.shape[0] * X.shape[1])
        and low >= 0
        and high > COUNTS_MAX
        and bool(np.all(np.mod(stored_values(X), 1.0) == 0))
    )


def resolve_transform(X: Matrix, name: str, source: str = "data") -> str:
    """The transform ``name`` stands for on ``X`` (``auto`` decided by :func:`looks_like_counts`).
    ``none`` on values that look like raw counts is refused: the most variable genes would be chosen
    on the count scale (a preset written for log-scale data, such as eltager2023, would otherwise
    train silently on counts).
    """
    if name not in TRANSFORMS:
        raise InitsensError(f"unknown --transform {name!r}; choose one of: {', '.join(TRANSFORMS)}")
    if name == "auto":
        return "log2cpm" if looks_like_counts(X) else "none"
    if name == "none" and looks_like_counts(X):
        raise InitsensError(
            f"{source}: the values look like raw read counts (non-negative whole numbers up to "
            f"{value_range(X)[1]:,.0f}) but --transform is none; use --transform log2cpm (or auto) "
            "to put them on a log scale first"
        )
    return name


def apply_transform(X: Matrix, name: str, source: str = "data") -> Matrix:
    """``X`` (samples x genes) transformed per sample by a resolved transform name, as float32; a
    sparse ``X`` stays sparse (both transforms map 0 to 0, so only its stored values change).
    """
    if name == "none":
        return X
    low = value_range(X)[0]
    if low < 0:
        raise InitsensError(
            f"{source}: --transform {name} needs non-negative values but the data go down to "
            f"{low:g}; the values may already be log-transformed: use --transform none"
        )
    if name not in ("log2p1", "log2cpm"):
        raise InitsensError(f"unknown --transform {name!r}; choose one of: {', '.join(TRANSFORMS)}")
    totals, per = np.ones(X.shape[0]), 1.0  # log2p1: x / 1 * 1, exactly x
    if name == "log2cpm":
        totals = np.asarray(X.sum(axis=1, dtype=np.float64)).ravel()
        empty = np.flatnonzero(totals == 0)
        if len(empty):
            raise InitsensError(
                f"{source}: --transform log2cpm needs counts in every sample, but {len(empty)} "
                f"sample(s) sum to 0 (row {int(empty[0])}); drop them or use --transform log2p1"
            )
        per = 1e6
    if is_sparse(X):
        out = X.copy()
        row_of_value = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        out.data = np.log2(X.data.astype(np.float64) / totals[row_of_value] * per + 1.0).astype(
            np.float32
        )
        return out
    return np.log2(X.astype(np.float64) / totals[:, None] * per + 1.0).astype(np.float32)
