"""One-way analysis per cell: how much of a metric's variation does the initializer explain?

:func:`oneway` gives the classical ANOVA of ``metric ~ initializer`` per cell with effect sizes and
their exact noncentral-F interval (:func:`variance_share_interval`), and the robust companions:
Welch, Kruskal-Wallis and Brown-Forsythe. Formulas: the docs'
:doc:`Analyze a sweep </guide/analyze>` page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import optimize, stats
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


def omega_sq_draws(
    groups: Sequence[np.ndarray], n_boot: int = 2000, seed: int | np.random.SeedSequence = 0
) -> np.ndarray:
    """Bootstrap replicates of omega^2, resampling within each group; vectorized over resamples."""
    rng = np.random.default_rng(seed)
    shifted = [g.astype(np.float64) - groups[0][0] for g in groups]
    sizes = np.array([g.size for g in shifted])
    means = np.empty((n_boot, len(shifted)))
    ss_within = np.zeros(n_boot)
    for j, g in enumerate(shifted):
        sample = g[rng.integers(0, g.size, size=(n_boot, g.size))]
        means[:, j] = sample.mean(axis=1)
        ss_within += ((sample - means[:, j : j + 1]) ** 2).sum(axis=1)
    grand = (means * sizes).sum(axis=1) / sizes.sum()
    ss_between = (sizes * (means - grand[:, None]) ** 2).sum(axis=1)
    df_between, df_within = len(shifted) - 1, sizes.sum() - len(shifted)
    with np.errstate(invalid="ignore", divide="ignore"):
        return omega_squared(ss_between, ss_within, df_between, df_within)


def ncp_interval(f: float, df1: float, df2: float, level: float = 0.95) -> tuple[float, float]:
    """Confidence interval of the noncentrality λ of F(df1, df2, λ) from an observed F, by inverting
    the noncentral F's distribution function in λ (Steiger 2004; MBESS's conf.limits.ncf): the lower
    bound puts F at the distribution's 1 − (1 − level)/2 quantile, the upper at its (1 − level)/2
    quantile; a bound that even λ = 0 cannot reach is 0. NaN when F is not finite.
    """
    if not np.isfinite(f):
        return np.nan, np.nan
    tail = (1.0 - level) / 2

    def cdf(lam: float) -> float:
        return float(stats.f.cdf(f, df1, df2) if lam <= 0 else stats.ncf.cdf(f, df1, df2, lam))

    def solve(target: float) -> float:
        if cdf(0.0) <= target:
            return 0.0
        high = max(10.0, 2 * f * df1)
        while cdf(high) > target:
            high *= 2
        return float(
            optimize.brentq(lambda lam: cdf(lam) - target, 0.0, high, xtol=1e-10, rtol=1e-12)
        )

    return solve(1.0 - tail), solve(tail)


def variance_share_interval(
    f: float, df1: float, df2: float, level: float = 0.95
) -> tuple[float, float]:
    """Exact interval of the population share of variance the factor explains, λ / (λ + N) with N =
    df1 + df2 + 1 (the parameter ω² and η² both estimate: Σα²/k / (Σα²/k + σ²) for a balanced
    design), from :func:`ncp_interval` (Steiger 2004; MBESS's ci.pvaf). Its coverage is exact for
    normal errors of equal spread; the test suite simulates it elsewhere.
    """
    low, high = ncp_interval(f, df1, df2, level)
    n = df1 + df2 + 1
    return low / (low + n), high / (high + n)


def percentile_ci(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates (NaN replicates ignored; NaNs when all are)."""
    if np.isnan(draws).all():
        return (np.nan, np.nan)
    alpha = (1.0 - level) / 2
    low, high = np.nanquantile(draws, [alpha, 1.0 - alpha])
    return float(low), float(high)


def _cell(
    groups: list[np.ndarray],
    n_boot: int,
    seed: np.random.SeedSequence,
    draws_out: dict | None = None,
    keys: tuple = (),
) -> dict[str, float]:
    n, k = sum(g.size for g in groups), len(groups)
    ss_between, ss_within = _sums_of_squares(groups)
    df_between, df_within = k - 1, n - k
    ms_within = ss_within / df_within
    f = (
        (ss_between / df_between) / ms_within if ms_within > 0 else np.nan
    )  # no spread within levels: undefined
    low, high = variance_share_interval(f, df_between, df_within)
    if (
        draws_out is not None
    ):  # bootstrap replicates: only for differences between cells (the sensitivity ranking)
        draws_out[keys] = omega_sq_draws(groups, n_boot, seed)
    welch = anova_oneway([g.astype(np.float64) for g in groups], use_var="unequal")
    kruskal = stats.kruskal(*groups) if len({float(v) for g in groups for v in g}) > 1 else None
    with np.errstate(
        divide="ignore", invalid="ignore"
    ):  # groups constant around their median: F is inf/nan
        spread = stats.levene(*groups, center="median")
    bf_f = (
        float(spread.statistic) if np.isfinite(spread.statistic) else np.nan
    )  # undefined, never infinite
    return {
        "n": n,
        "k": k,
        "ss_between": ss_between,
        "ss_within": ss_within,
        "df_between": df_between,
        "df_within": df_within,
        "f": f,
        "p_value": float(stats.f.sf(f, df_between, df_within)),
        "eta_sq": ss_between / (ss_between + ss_within),
        "eta_sq_ci_low": low,
        "eta_sq_ci_high": high,
        "omega_sq": omega_squared(ss_between, ss_within, df_between, df_within),
        "omega_sq_ci_low": low,
        "omega_sq_ci_high": high,
        "welch_f": float(welch.statistic),
        "welch_df1": float(welch.df[0]),
        "welch_df2": float(welch.df[1]),
        "welch_p": float(welch.pvalue),
        "kruskal_h": np.nan if kruskal is None else float(kruskal.statistic),
        "kruskal_p": np.nan if kruskal is None else float(kruskal.pvalue),
        "bf_f": bf_f,
        "bf_p": float(spread.pvalue) if np.isfinite(bf_f) else np.nan,
        "undefined": _undefined(groups, f, bf_f),
    }


def _undefined(groups: Sequence[np.ndarray], f: float, bf_f: float) -> str:
    """Why a statistic of the cell is undefined at the data's size ('' when every one is
    defined).
    """
    why = []
    if not np.isfinite(f):
        why.append("ANOVA F: no spread within any level")
    if not np.isfinite(bf_f):
        why.append(
            "Brown-Forsythe F: with two runs per level the median-centred deviations are equal "
            "within each level, so their spread is 0"
            if max(g.size for g in groups) <= 2
            else "Brown-Forsythe F: the median-centred deviations do not vary within any level"
        )
    return "; ".join(why)


def oneway(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    *,
    by: Sequence[str] = ("model", "depth"),
    factor: str = "initializer",
    n_boot: int = 2000,
    random_state: int = 0,
    draws_out: dict | None = None,
) -> pd.DataFrame:
    """One row per cell of ``by``: ANOVA of ``metric ~ factor`` with effect sizes and robust tests.

    Parameters
    ----------
    runs : a runs table (one row per run; failed runs already left out).
    metric, by, factor : the analyzed column, the cell columns and the compared factor.
    n_boot : bootstrap resamples (within factor levels) of omega^2's percentile CI.
    random_state : seed of the bootstrap (each cell draws its own stream from it).
    draws_out : when given, receives the bootstrap replicates of omega^2 per cell (key tuple ->
        array).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``metric``, ``n``, ``k`` (levels), ``ss_between``, ``ss_within``,
        ``df_between``, ``df_within``, ``f``, ``p_value``, ``eta_sq``, ``omega_sq``,
        ``omega_sq_ci_low``/``_high`` and ``eta_sq_ci_low``/``_high`` (the exact 95% interval of the
        share of variance both estimate), Welch's ``welch_f``, ``welch_df1``, ``welch_df2``,
        ``welch_p``, Kruskal-Wallis ``kruskal_h``, ``kruskal_p``, Brown-Forsythe ``bf_f``, ``bf_p``,
        and ``undefined`` (which statistic is undefined at the data's size and why; its columns hold
        NaN).

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
        rows.append(
            {
                **dict(zip(by, keys)),
                "metric": metric,
                **_cell(groups, n_boot, cell_seed(random_state, keys), draws_out, keys),
            }
        )
    return pd.DataFrame(rows)
