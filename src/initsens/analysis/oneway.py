"""One-way analysis per cell: how much of a metric's variation does the initializer explain?

:func:`oneway` takes a tidy results table (one row per run) and returns one row per cell (by default
model x depth) with the classical one-way ANOVA of ``metric ~ initializer``, effect sizes with a
bootstrap CI, and the robust companions: Welch's ANOVA (unequal variances), Kruskal-Wallis (ranks)
and Brown-Forsythe (Levene's test centred on medians, for differences in spread).

Returned columns: the cell keys, ``metric``, ``n``, ``k`` (groups), ``ss_between``, ``ss_within``,
``df_between``, ``df_within``, ``f``, ``p_value``, ``eta_sq`` (SS_between / SS_total), ``omega_sq``
((SS_between - df_between MS_within) / (SS_total + MS_within)), ``omega_sq_ci_low``/``_high``
(percentile bootstrap, resampling within groups, one random stream per cell), ``welch_f``, ``welch_df1``, ``welch_df2``,
``welch_p``, ``kruskal_h``, ``kruskal_p``, ``bf_f``, ``bf_p``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.oneway import anova_oneway

from initsens.analysis.cells import cell_seed, iter_cells, require_columns


def _sums_of_squares(groups: Sequence[np.ndarray]) -> tuple[float, float]:
    """(SS_between, SS_within), accurate even for data with a huge common offset.

    Values are first shifted by one observation (subtracting nearby floats is exact), then the
    usual two-pass formulas run on numbers of modest size: the naive sum-of-squares formula would
    lose every digit on data like NIST's SmLs07-09 (1e12 + small differences).
    """
    pivot = groups[0][0]
    shifted = [g.astype(np.float64) - pivot for g in groups]
    means = np.array([g.mean() for g in shifted])
    sizes = np.array([g.size for g in shifted])
    grand = np.concatenate(shifted).mean()
    ss_between = float(np.sum(sizes * (means - grand) ** 2))
    ss_within = float(sum(np.sum((g - m) ** 2) for g, m in zip(shifted, means)))
    return ss_between, ss_within


def omega_squared(ss_between, ss_within, df_between, df_within):
    """omega^2 = (SS_b - df_b * MS_w) / (SS_t + MS_w); works on arrays too."""
    ms_within = ss_within / df_within
    return (ss_between - df_between * ms_within) / (ss_between + ss_within + ms_within)


def omega_sq_draws(groups: Sequence[np.ndarray], n_boot: int = 2000,
                   seed: int | np.random.SeedSequence = 0) -> np.ndarray:
    """Bootstrap replicates of omega^2, resampling within each group; vectorized over resamples."""
    rng = np.random.default_rng(seed)
    shifted = [g.astype(np.float64) - groups[0][0] for g in groups]
    sizes = np.array([g.size for g in shifted])
    means = np.empty((n_boot, len(shifted)))
    ss_within = np.zeros(n_boot)
    for j, g in enumerate(shifted):
        sample = g[rng.integers(0, g.size, size=(n_boot, g.size))]
        means[:, j] = sample.mean(axis=1)
        ss_within += ((sample - means[:, j:j + 1]) ** 2).sum(axis=1)
    grand = (means * sizes).sum(axis=1) / sizes.sum()
    ss_between = (sizes * (means - grand[:, None]) ** 2).sum(axis=1)
    df_between, df_within = len(shifted) - 1, sizes.sum() - len(shifted)
    with np.errstate(invalid="ignore", divide="ignore"):
        return omega_squared(ss_between, ss_within, df_between, df_within)


def percentile_ci(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (NaN replicates ignored; NaNs when all are)."""
    if np.isnan(draws).all():
        return (np.nan, np.nan)
    alpha = (1.0 - level) / 2
    low, high = np.nanquantile(draws, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _cell(groups: list[np.ndarray], n_boot: int, seed: np.random.SeedSequence, draws_out: dict | None = None,
          keys: tuple = ()) -> dict[str, float]:
    n, k = sum(g.size for g in groups), len(groups)
    ss_between, ss_within = _sums_of_squares(groups)
    df_between, df_within = k - 1, n - k
    ms_within = ss_within / df_within
    f = (ss_between / df_between) / ms_within if ms_within > 0 else np.inf
    draws = omega_sq_draws(groups, n_boot, seed)
    low, high = percentile_ci(draws)
    if draws_out is not None:
        draws_out[keys] = draws
    welch = anova_oneway([g.astype(np.float64) for g in groups], use_var="unequal")
    kruskal = stats.kruskal(*groups) if len({float(v) for g in groups for v in g}) > 1 else None
    with np.errstate(divide="ignore", invalid="ignore"):  # groups constant around their median: F is inf/nan
        spread = stats.levene(*groups, center="median")
    return {
        "n": n, "k": k, "ss_between": ss_between, "ss_within": ss_within, "df_between": df_between,
        "df_within": df_within, "f": f, "p_value": float(stats.f.sf(f, df_between, df_within)),
        "eta_sq": ss_between / (ss_between + ss_within),
        "omega_sq": omega_squared(ss_between, ss_within, df_between, df_within),
        "omega_sq_ci_low": low, "omega_sq_ci_high": high,
        "welch_f": float(welch.statistic), "welch_df1": float(welch.df[0]), "welch_df2": float(welch.df[1]),
        "welch_p": float(welch.pvalue),
        "kruskal_h": np.nan if kruskal is None else float(kruskal.statistic),
        "kruskal_p": np.nan if kruskal is None else float(kruskal.pvalue),
        "bf_f": float(spread.statistic), "bf_p": float(spread.pvalue),
    }


def oneway(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    by: Sequence[str] = ("model", "depth"),
    factor: str = "initializer",
    n_boot: int = 2000,
    seed: int = 0,
    draws_out: dict | None = None,
) -> pd.DataFrame:
    """One row per cell of ``by``: ANOVA of ``metric ~ factor`` with effect sizes and robust tests.

    Parameters
    ----------
    runs : a runs table (one row per run; failed runs already left out).
    metric, by, factor : the analyzed column, the cell columns and the compared factor.
    n_boot : bootstrap resamples (within factor levels) of omega^2's percentile CI.
    seed : seed of the bootstrap (each cell draws its own stream from it).
    draws_out : when given, receives the bootstrap replicates of omega^2 per cell (key tuple -> array).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``metric``, ``n``, ``k`` (levels), ``ss_between``, ``ss_within``, ``df_between``,
        ``df_within``, ``f``, ``p_value``, ``eta_sq``, ``omega_sq`` with ``omega_sq_ci_low``/``_high``, Welch's
        ``welch_f``, ``welch_df1``, ``welch_df2``, ``welch_p``, Kruskal-Wallis ``kruskal_h``, ``kruskal_p`` and
        Brown-Forsythe ``bf_f``, ``bf_p``.

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> table = oneway(toy_runs(), n_boot=200)
    >>> table[["model", "f", "p_value", "omega_sq"]].round(3)
            model        f  p_value  omega_sq
    0        IWAE  374.141    0.000     0.976
    1  VanillaVAE    1.139    0.346     0.015
    """
    require_columns(runs, (*by, factor, metric))
    rows = []
    for keys, cell in iter_cells(runs, by):
        groups = [g[metric].to_numpy(np.float64) for _, g in cell.groupby(factor, sort=True)]
        if len(groups) < 2 or sum(g.size for g in groups) <= len(groups):
            continue
        rows.append({**dict(zip(by, keys)), "metric": metric,
                     **_cell(groups, n_boot, cell_seed(seed, keys), draws_out, keys)})
    return pd.DataFrame(rows)
