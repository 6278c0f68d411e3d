"""Does a lower validation loss mean a better downstream clustering?

:func:`spearman` correlates ``metric`` with ``ari`` per model (over all of its runs) and per model
and depth. Columns: ``model``, ``depth`` (``all`` for the whole model), ``metric``, ``other``,
``n``, ``rho``, ``ci_low``/``ci_high`` (Fisher z interval with the Fieller-Hartley-Pearson variance
1.06 / (n - 3)), ``p_value`` (two-sided, t approximation as R's ``cor.test(exact = FALSE)``) and
``undefined`` (why rho is undefined: a column the same in every run, or fewer than 4 runs with both
values; '' where it is defined).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats


def _undefined(x: pd.Series, y: pd.Series, n: int) -> str:
    """Why rho of the kept pairs ``x``, ``y`` is undefined ('' when it is defined), in the report's
    words.
    """
    if n < 4:
        return f"{n} run(s) with both values, and ρ's interval needs at least 4"
    for column in (x, y):
        if column.nunique() < 2:
            return (
                f"{column.name or 'a column'} is {float(column.iloc[0]):.3g} in all {n} runs, so ρ "
                "is undefined"
            )
    return ""


def rank_correlation(x: pd.Series, y: pd.Series, level: float = 0.95) -> dict[str, float | str]:
    """n, Spearman rho, its Fisher-z CI at ``level`` (Fieller-Hartley-Pearson variance 1.06 / (n -
    3)) and the two-sided p-value over the pairs where both are finite; ``undefined`` says why they
    are NaN ('' otherwise).
    """
    keep = np.isfinite(x.to_numpy(np.float64)) & np.isfinite(y.to_numpy(np.float64))
    n = int(keep.sum())
    why = _undefined(x[keep], y[keep], n)
    if why:
        return {
            "n": n,
            "rho": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
            "undefined": why,
        }
    result = stats.spearmanr(x[keep], y[keep])
    rho = float(result.statistic)
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(1.06 / (n - 3))
    z = np.arctanh(np.clip(rho, -0.999999, 0.999999))
    return {
        "n": n,
        "rho": rho,
        "ci_low": float(np.tanh(z - half)),
        "ci_high": float(np.tanh(z + half)),
        "p_value": float(result.pvalue),
        "undefined": "",
    }


def spearman(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    other: str = "ari",
    level: float = 0.95,
    by: Sequence[str] = ("model", "depth"),
) -> pd.DataFrame:
    """Spearman's rho of ``metric`` vs ``other`` per first ``by`` column (the others ``all``) and
    per cell.
    """
    first, rest = by[0], list(by[1:])
    rows = []
    for value, cell in runs.groupby(first, sort=True):
        rows.append(
            {
                first: value,
                **dict.fromkeys(rest, "all"),
                "metric": metric,
                "other": other,
                **rank_correlation(cell[metric], cell[other], level),
            }
        )
        for keys, sub in cell.groupby(rest, sort=True) if rest else []:
            keys = keys if isinstance(keys, tuple) else (keys,)
            rows.append(
                {
                    first: value,
                    **{k: str(v) for k, v in zip(rest, keys)},
                    "metric": metric,
                    "other": other,
                    **rank_correlation(sub[metric], sub[other], level),
                }
            )
    return pd.DataFrame(rows)
