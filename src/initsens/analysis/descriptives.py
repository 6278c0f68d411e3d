"""Per-initializer summaries within each cell.

Columns: the cell keys, ``metric``, ``initializer``, ``n``, ``mean``, ``sd``, ``median``, ``q1``,
``q3``, ``iqr``, ``ci_low``/``ci_high`` (95% t interval of the mean; NaN for n < 2).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def describe(runs: pd.DataFrame, metric: str = "val_loss", by: Sequence[str] = ("model", "depth"),
             factor: str = "initializer", level: float = 0.95) -> pd.DataFrame:
    """One row per cell and ``factor`` level with location, spread and the CI of the mean."""
    grouped = runs.groupby([*by, factor], sort=True)[metric]
    table = grouped.agg(n="count", mean="mean", sd="std", median="median",
                        q1=lambda v: v.quantile(0.25), q3=lambda v: v.quantile(0.75)).reset_index()
    table["iqr"] = table["q3"] - table["q1"]
    with np.errstate(invalid="ignore"):
        half = stats.t.ppf(0.5 + level / 2, table["n"] - 1) * table["sd"] / np.sqrt(table["n"])
    table["ci_low"], table["ci_high"] = table["mean"] - half, table["mean"] + half
    table.insert(len(by), "metric", metric)
    return table
