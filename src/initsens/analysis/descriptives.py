"""Per-initializer summaries within each cell.

Columns: the cell keys, ``metric``, ``initializer``, ``n``, ``mean``, ``sd``, ``median``, ``q1``,
``q3``, ``iqr``, ``ci_low``/``ci_high`` (95% t interval of the mean; NaN for n < 2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def describe(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    by: Sequence[str] = ("model", "depth"),
    factor: str = "initializer",
    level: float = 0.95,
) -> pd.DataFrame:
    """One row per cell and ``factor`` level with location, spread and the CI of the mean.

    Parameters
    ----------
    runs : a runs table (one row per run).
    metric : the column summarized.
    by : the columns that define a cell.
    factor : the column whose levels are compared within a cell.
    level : confidence level of the t interval of the mean.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``metric`` (its name), ``factor``, ``n``, ``mean``, ``sd``, ``median``,
        ``q1``, ``q3``, ``iqr`` and ``ci_low``/``ci_high`` (t interval of the mean).

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> describe(toy_runs())[["model", "initializer", "n", "mean"]].round(2)
            model    initializer  n  mean
    0        IWAE         normal  6  2.01
    1        IWAE        uniform  6  0.99
    2        IWAE  xavier_normal  6  0.91
    3  VanillaVAE         normal  6  1.04
    4  VanillaVAE        uniform  6  0.98
    5  VanillaVAE  xavier_normal  6  1.00
    """
    grouped = runs.groupby([*by, factor], sort=True)[metric]
    table = grouped.agg(
        n="count",
        mean="mean",
        sd="std",
        median="median",
        q1=lambda v: v.quantile(0.25),
        q3=lambda v: v.quantile(0.75),
    ).reset_index()
    table["iqr"] = table["q3"] - table["q1"]
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(0.5 + level / 2, table["n"] - 1) * table["sd"] / np.sqrt(table["n"])
    table["ci_low"], table["ci_high"] = table["mean"] - half, table["mean"] + half
    table.insert(len(by), "metric", metric)
    return table
