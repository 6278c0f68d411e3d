"""Divergence is itself sensitivity: count the runs that failed and test whether the initializer
matters.

A run failed when its ``status`` is not ``ok`` or its metric is not finite; the test is Fisher's
exact r x 2 test, as R's ``fisher.test`` (the chi-square test beyond ``MAX_TABLES`` tables).
Details: the docs' :doc:`Analyze a sweep </guide/analyze>` page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln

from initsens.results.schema import OK

MAX_TABLES = 5_000_000


def failed_mask(runs: pd.DataFrame, metric: str) -> pd.Series:
    """True for runs excluded from the fits: status other than ``ok``, or a non-finite metric."""
    values = pd.to_numeric(runs[metric], errors="coerce").to_numpy(np.float64)
    bad = ~np.isfinite(values)
    if "status" in runs.columns:
        bad |= runs["status"].astype(str).to_numpy() != OK
    return pd.Series(bad, index=runs.index)


def _log_choose(n: int, x: np.ndarray) -> np.ndarray:
    return gammaln(n + 1) - gammaln(x + 1) - gammaln(n - x + 1)


def exact_rx2(failed: np.ndarray, sizes: np.ndarray) -> float | None:
    """Fisher's exact p for an r x 2 table (failed, size - failed), or None when it is too large."""
    total = int(failed.sum())
    capacity_after = np.concatenate([np.cumsum(sizes[::-1])[::-1][1:], [0]])
    sums, logp = np.zeros(1, np.int64), np.zeros(1)
    for n, rest in zip(sizes, capacity_after):
        x = np.arange(min(n, total) + 1)
        if sums.size * x.size > MAX_TABLES:  # checked before expanding: the expansion is the memory
            return None
        sums = (sums[:, None] + x[None, :]).ravel()
        logp = (logp[:, None] + _log_choose(int(n), x)[None, :]).ravel()
        keep = (sums <= total) & (sums + rest >= total)
        sums, logp = sums[keep], logp[keep]
    observed = sum(float(_log_choose(int(n), np.array(f))) for n, f in zip(sizes, failed))
    log_total = float(_log_choose(int(sizes.sum()), np.array(total)))
    extreme = logp <= observed + np.log1p(1e-7)  # R's fisher.test tolerance for ties
    return float(min(1.0, np.exp(logp[extreme] - log_total).sum()))


def fisher_p(counts: pd.DataFrame) -> float:
    """Exact p-value for a table with columns ``n_failed`` and ``n_runs`` (one row per group)."""
    failed = counts["n_failed"].to_numpy(np.int64)
    table = np.column_stack([failed, counts["n_runs"].to_numpy(np.int64) - failed])
    if table[:, 0].sum() == 0 or table[:, 1].sum() == 0 or len(table) < 2:
        return float("nan")
    exact = exact_rx2(table[:, 0], table.sum(axis=1))
    return exact if exact is not None else float(stats.chi2_contingency(table).pvalue)


def failures(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    by: Sequence[str] = ("model", "depth"),
    factor: str = "initializer",
) -> pd.DataFrame:
    """Failure counts per cell and ``factor`` level, with Fisher's exact test per cell.

    Parameters
    ----------
    runs, metric, by, factor : the runs table (with every run, failed ones too), the column whose
        non-finite values count as failures, the cell columns and the compared factor.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``factor``, ``n_runs``, ``n_failed``, ``fail_rate`` and, on every row of
        a cell, ``fisher_p`` (NaN where nothing or everything failed).

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> runs = toy_runs()
    >>> runs.loc[runs["initializer"] == "normal", "status"] = "diverged"
    >>> failures(runs)[["model", "initializer", "n_failed", "fisher_p"]].round(5)
            model    initializer  n_failed  fisher_p
    0        IWAE         normal         6   0.00016
    1        IWAE        uniform         0   0.00016
    2        IWAE  xavier_normal         0   0.00016
    3  VanillaVAE         normal         6   0.00016
    4  VanillaVAE        uniform         0   0.00016
    5  VanillaVAE  xavier_normal         0   0.00016
    """
    table = (
        runs.assign(_failed=failed_mask(runs, metric))
        .groupby([*by, factor], sort=True)["_failed"]
        .agg(n_runs="size", n_failed="sum")
        .reset_index()
    )
    table["n_failed"] = table["n_failed"].astype(np.int64)
    table["fail_rate"] = table["n_failed"] / table["n_runs"]
    p = (
        table.groupby(list(by), sort=False)[["n_failed", "n_runs"]]
        .apply(fisher_p)
        .rename("fisher_p")
    )
    return table.merge(p.reset_index(), on=list(by))
