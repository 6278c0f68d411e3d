"""Missing and non-finite values: describe them precisely, and impute or drop only on request."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from initsens.errors import InitsensError

Impute = Literal["mean", "zero"]
DropMissing = Literal["genes", "samples"]
IMPUTE_CHOICES = ("mean", "zero")
DROP_CHOICES = ("genes", "samples")


def _examples(names: np.ndarray, counts: np.ndarray, limit: int = 3) -> str:
    order = np.argsort(-counts, kind="stable")[:limit]
    shown = ", ".join(f"{names[i]} ({counts[i]})" for i in order)
    return shown + (", ..." if len(names) > limit else "")


def describe_missing(bad: Any, sample_ids: np.ndarray, gene_ids: np.ndarray) -> str:
    """One clause saying how many cells are NaN/inf and where, e.g. '3 missing or infinite values
    ...'.
    """
    gene_counts = np.asarray(bad.sum(axis=0)).ravel()  # np.asarray: a sparse mask sums to a matrix
    sample_counts = np.asarray(bad.sum(axis=1)).ravel()
    genes = np.flatnonzero(gene_counts)
    samples = np.flatnonzero(sample_counts)
    return (
        f"{int(bad.sum())} missing or infinite value(s) in {len(genes)} gene(s) "
        f"[{_examples(gene_ids[genes], gene_counts[genes])}] and {len(samples)} sample(s) "
        f"[{_examples(sample_ids[samples], sample_counts[samples])}]"
    )


def check_missing_choice(impute: str | None, drop_missing: str | None) -> None:
    """One-line errors for an unknown or contradictory --impute / --drop-missing."""
    if impute is not None and impute not in IMPUTE_CHOICES:
        raise InitsensError(
            f"unknown --impute {impute!r}; choose one of: {', '.join(IMPUTE_CHOICES)}"
        )
    if drop_missing is not None and drop_missing not in DROP_CHOICES:
        raise InitsensError(
            f"unknown --drop-missing {drop_missing!r}; choose one of: {', '.join(DROP_CHOICES)}"
        )
    if impute is not None and drop_missing is not None:
        raise InitsensError("give either --impute or --drop-missing, not both")


def resolve_missing(
    X: np.ndarray,
    sample_ids: np.ndarray,
    gene_ids: np.ndarray,
    impute: Impute | None = None,
    drop_missing: DropMissing | None = None,
    source: str = "dataset",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Apply the user's explicit choice for NaN/inf cells; without one, leave them (Dataset reports
    them).

    ``impute='mean'`` fills a cell with its gene's mean over finite values (0 where a gene has
    none), ``impute='zero'`` with 0; ``drop_missing='genes'|'samples'`` removes every gene or sample
    that has one.
    """
    check_missing_choice(impute, drop_missing)
    bad = ~np.isfinite(X)
    if not bad.any() or (impute is None and drop_missing is None):
        return X, sample_ids, gene_ids
    if drop_missing == "genes":
        keep = ~bad.any(axis=0)
        if not keep.any():
            raise InitsensError(
                f"{source}: every gene has a missing value; --drop-missing genes leaves nothing"
            )
        return X[:, keep], sample_ids, gene_ids[keep]
    if drop_missing == "samples":
        keep = ~bad.any(axis=1)
        if not keep.any():
            raise InitsensError(
                f"{source}: every sample has a missing value; --drop-missing samples leaves nothing"
            )
        return X[keep], sample_ids[keep], gene_ids
    X = X.copy()
    if impute == "zero":
        X[bad] = 0.0
    else:
        finite = np.where(bad, 0.0, X).astype(np.float64)
        counts = (~bad).sum(axis=0)
        means = np.divide(finite.sum(axis=0), counts, out=np.zeros(X.shape[1]), where=counts > 0)
        X[bad] = np.broadcast_to(means, X.shape)[bad]
    return X, sample_ids, gene_ids
