"""Factorial ANOVA across cells (statsmodels formula API), types II and III.

Every factor uses sum-to-zero contrasts, which type III sums of squares require; see the docs'
:doc:`Analyze a sweep </guide/analyze>` page (How the statistics are computed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from initsens.analysis.cells import require_columns
from initsens.analysis.formulas import factorial_formula, term_name
from initsens.errors import InitsensError


def factorial_anova(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    factors: Sequence[str] = ("model", "initializer", "depth"),
    types: Sequence[int] = (2, 3),
) -> pd.DataFrame:
    """Type II and/or III ANOVA tables of ``metric`` on the full factorial of ``factors``.

    Returns
    -------
    pandas.DataFrame
        ``metric``, ``typ`` (2 or 3), ``term`` (``model``, ``model:initializer``, ...,
        ``Residuals``), ``sum_sq``, ``df``, ``f``, ``p_value`` and ``partial_eta_sq``.

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> table = factorial_anova(toy_runs(), factors=("model", "initializer"))
    >>> table[table["typ"] == 2][["term", "df"]]
                    term    df
    0              model   1.0
    1        initializer   2.0
    2  model:initializer   2.0
    3          Residuals  30.0
    """
    require_columns(runs, (*factors, metric))
    data = runs[[*factors, metric]].copy()
    for f in factors:
        data[f] = data[f].astype(str)
    factors = [f for f in factors if data[f].nunique() > 1]  # a one-level factor explains nothing
    if not factors:
        raise InitsensError("factorial ANOVA needs a factor with at least two levels")
    fit = smf.ols(factorial_formula(metric, factors), data=data).fit()
    tables = []
    for typ in types:
        table = anova_lm(fit, typ=typ).rename(
            columns={"sum_sq": "sum_sq", "df": "df", "F": "f", "PR(>F)": "p_value"}
        )
        table = table.drop(index=[t for t in table.index if t == "Intercept"])
        ss_resid = table.loc["Residual", "sum_sq"]
        table["partial_eta_sq"] = np.where(
            table.index == "Residual", np.nan, table["sum_sq"] / (table["sum_sq"] + ss_resid)
        )
        table.insert(
            0, "term", ["Residuals" if t == "Residual" else term_name(t) for t in table.index]
        )
        table.insert(0, "typ", typ)
        table.insert(0, "metric", metric)
        tables.append(table.reset_index(drop=True))
    return pd.concat(tables, ignore_index=True)
