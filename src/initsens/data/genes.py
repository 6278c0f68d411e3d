"""Gene selection: keep the k most variable genes, by median absolute deviation (default), mean
absolute deviation or variance.
"""

from __future__ import annotations

import numpy as np

from initsens.data.matrix import Matrix, column_blocks, is_sparse
from initsens.errors import InitsensError

SELECTION_METHODS = ("mad", "meanad", "variance")


def gene_spread(X: Matrix, method: str = "mad") -> np.ndarray:
    """Per-gene spread: ``mad`` = median(|x - median(x)|) (unscaled); ``meanad`` = mean(|x -
    mean(x)|), what pandas' ``DataFrame.mad()`` computed until pandas 2.0 (the original study's code
    called it); or the population ``variance``. A sparse ``X`` is made dense a block of genes at a
    time.
    """
    if is_sparse(X):
        spread = np.empty(X.shape[1])
        for start, block in column_blocks(X):
            spread[start : start + block.shape[1]] = gene_spread(block, method)
        return spread
    if method == "mad":
        centred = np.abs(X - np.median(X, axis=0))
        return np.median(centred, axis=0)
    if method == "meanad":
        X64 = X.astype(np.float64)
        return np.abs(X64 - X64.mean(axis=0)).mean(axis=0)
    if method == "variance":
        return X.var(axis=0, dtype=np.float64)
    raise InitsensError(
        f"unknown gene selection {method!r}; choose one of: {', '.join(SELECTION_METHODS)}"
    )


def check_top_genes(k: int | None, n_genes: int, what: str = "the data") -> None:
    """A one-line error when ``k`` genes cannot be kept out of ``n_genes`` (``what`` names the
    data).
    """
    if k and k < 0:
        raise InitsensError(f"--top-genes must be >= 0 (got {k})")
    if k and k > n_genes:
        raise InitsensError(
            f"--top-genes {k} asks for more genes than {what} has ({n_genes}); "
            f"use --top-genes {n_genes} or less (0 keeps all)"
        )


def top_variable_genes(X: Matrix, k: int | None, method: str = "mad") -> np.ndarray:
    """Column indices of the ``k`` most variable genes, in their original order.

    Ties at the cut-off go to the earlier gene, so the choice is deterministic. ``k=None`` or 0
    keeps every gene. A cut-off among genes of spread 0 is an error: those genes would be chosen by
    their order in the file, not by variability (the median absolute deviation is 0 for every gene
    whose values are more than half equal, e.g. zeros in sparse counts).
    """
    n_genes = X.shape[1]
    spread = gene_spread(X, method)
    check_top_genes(k, n_genes)
    if not k:
        return np.arange(n_genes)
    order = np.lexsort((np.arange(n_genes), -spread))
    if k < n_genes and not spread[order[k - 1]] > 0:
        positive = int((spread > 0).sum())
        raise InitsensError(
            f"only {positive:,} of {n_genes:,} genes have a positive spread by {method!r}"
            + (
                " (more than half of each other gene's values are equal, e.g. zeros in sparse "
                "counts)"
                if method == "mad"
                else ""
            )
            + f", so --top-genes {k} would pick genes by their order in the file; use "
            "--gene-selection variance"
            + (" or meanad" if method == "mad" else "")
            + f", or --top-genes {positive} or less"
        )
    return np.sort(order[:k])
