"""Which initializers differ? Pairwise comparisons within each cell.

- :func:`pairwise` runs Tukey's HSD (scipy) and Games-Howell (Welch standard errors and degrees of
  freedom with the studentized range; valid for unequal variances, and the method the analysis uses)
  on every initializer pair of every cell. Columns: the cell keys, ``metric``, ``method``
  (``tukey``/``games_howell``), ``group1``, ``group2``, ``mean_diff`` (mean of group1 minus mean of
  group2), ``p_adj`` (adjusted for the pairs in the cell), ``ci_low``/``ci_high`` (simultaneous CI
  of ``mean_diff``), ``reject`` (p_adj < alpha).
- :func:`letters` turns one method's significant pairs into a compact letter display (Piepho's
  insert-absorb algorithm): initializers sharing a letter are not significantly different; ``a``
  marks the best group's set.
- :func:`improvement` estimates, for every pair, the probability that group1 gives a better metric
  than group2 (Bouthillier et al. 2021). When the cell's seeds are shared (common random numbers)
  the comparison is paired by seed; otherwise all cross pairs are compared (the Mann-Whitney
  probability). Ties count one half. The CI is a percentile bootstrap over seeds (or within groups
  when unpaired), vectorized over resamples. Columns: the cell keys, ``metric``, ``group1``,
  ``group2``, ``paired``, ``n_pairs``, ``prob_better``, ``ci_low``, ``ci_high``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import interpolate, optimize, special, stats
from statsmodels.stats.libqsturng import qsturng

from initsens.analysis.cells import iter_cells


def _tukey(names: list[str], groups: list[np.ndarray], alpha: float) -> list[dict]:
    result = stats.tukey_hsd(*groups)
    ci = result.confidence_interval(1.0 - alpha)
    return [
        {
            "group1": names[i],
            "group2": names[j],
            "mean_diff": groups[i].mean() - groups[j].mean(),
            "p_adj": float(result.pvalue[i, j]),
            "ci_low": float(ci.low[i, j]),
            "ci_high": float(ci.high[i, j]),
        }
        for i, j in combinations(range(len(names)), 2)
    ]


@functools.lru_cache(maxsize=32)
def _range_tail(k: int) -> interpolate.CubicSpline:
    """log P(range of ``k`` standard normals > x) for x in [0, 16], as a spline: the integral over z
    of k φ(z) (Φ(z) − Φ(z − x))^(k−1) by 600-point Gauss-Legendre, once per k.
    """
    z, w = np.polynomial.legendre.leggauss(600)
    x = np.linspace(0.0, _RANGE_MAX, 3201)[:, None]
    half = (18.0 + x) / 2  # z runs over [-9, 9 + x]
    zz, ww = half * z + (half - 9.0), half * w
    inner = special.ndtr(zz) - special.ndtr(zz - x)
    cdf = k * np.sum(ww * np.exp(-(zz**2) / 2) / np.sqrt(2 * np.pi) * inner ** (k - 1), axis=1)
    return interpolate.CubicSpline(x[:, 0], np.log(np.clip(1.0 - cdf, 1e-300, 1.0)))


_RANGE_MAX = 16.0


def studentized_range_sf(q: float, k: int, df: float) -> float:
    """P(Q > q) for the studentized range of ``k`` means with ``df`` degrees of freedom.

    The range's tail at infinite df is tabulated once per k (:func:`_range_tail`), then integrated
    against the density of s = √(χ²_df / df) by the trapezoid rule in log s: ~0.5 ms a call where
    scipy's double integral takes ~30 ms, the judge's main cost. Relative error under 1e-5 against
    scipy and the k = 2 closed form (tests/test_posthoc_range.py); below 1e-10, where the tabulated
    tail runs out of digits, it is scipy's.
    """
    spline = _range_tail(int(k))

    def tail(x: np.ndarray) -> np.ndarray:
        return np.where(
            x >= _RANGE_MAX, 0.0, np.minimum(np.exp(spline(np.minimum(x, _RANGE_MAX))), 1.0)
        )

    if not np.isfinite(df) or df > 1e6:
        value = float(tail(np.asarray(q, float)))
    else:
        nu, sigma = float(df), 1.0 / np.sqrt(2.0 * df)
        left, right = -max(12 * sigma, 40 / nu), max(12 * sigma, 0.5 * np.log(80 / nu) + 0.5)
        u = np.linspace(left, right, int(np.ceil((right - left) / min(sigma / 6, 0.02))) + 1)
        log_density = (  # of u = log s
            (nu / 2) * np.log(nu / 2)
            + np.log(2.0)
            + nu * u
            - nu * np.exp(2 * u) / 2
            - special.gammaln(nu / 2)
        )
        value = float(np.trapezoid(np.exp(log_density) * tail(q * np.exp(u)), u))
    return value if value >= 1e-10 else float(stats.studentized_range.sf(q, k, df))


@functools.lru_cache(maxsize=65536)
def studentized_range_quantile(level: float, k: int, df: float) -> float:
    """Quantile of the studentized range: the root of :func:`studentized_range_sf` (q) = 1 − level,
    bracketed around statsmodels' approximation (scipy's ``ppf`` costs ~0.1 s a call; Games-Howell
    needs one per pair).
    """
    guess = float(qsturng(level, k, df)) if 0.1 <= level <= 0.999 and df >= 2 else np.nan
    low, high = (0.9 * guess, 1.1 * guess) if np.isfinite(guess) else (1e-3, 10.0)
    target = 1.0 - level
    while studentized_range_sf(low, k, df) < target:
        low /= 2
    while studentized_range_sf(high, k, df) > target:
        high *= 2
    return float(
        optimize.brentq(lambda q: studentized_range_sf(q, k, df) - target, low, high, xtol=1e-10)
    )


def yuen_parts(values: np.ndarray, trim: float) -> tuple[float, float, int]:
    """(trimmed mean, squared standard error, effective size h) of one group, as Yuen's test uses
    them: g = ⌊trim·n⌋ values cut from each end, h = n − 2g, the error from the winsorized variance,
    (n − 1) s_w² / (h (h − 1)). With trim 0: the mean, s²/n and n.
    """
    x = np.sort(np.asarray(values, np.float64))
    n = x.size
    g = int(np.floor(trim * n))
    h = n - 2 * g
    winsorized = np.clip(x, x[g], x[n - g - 1])
    return float(x[g : n - g].mean()), float((n - 1) * winsorized.var(ddof=1) / (h * (h - 1))), h


def games_howell(
    names: list[str],
    groups: list[np.ndarray],
    alpha: float,
    intervals: bool = True,
    trim: float = 0.0,
) -> list[dict]:
    """Games-Howell for every pair: difference of means, Welch standard error ``se`` and degrees of
    freedom ``df``, adjusted p-value and (with ``intervals``) the simultaneous CI at 1 - alpha. With
    ``trim`` > 0 the means are ``trim``-trimmed and the errors and df Yuen's (Wilcox's robust
    Games-Howell; at k = 2 it is scipy's ``ttest_ind(trim=...)``). The p-value needs one integral of
    the studentized range, the interval's quantile four more: leave them out where only decisions
    are needed (:func:`games_howell_interval`).
    """
    k = len(groups)
    parts = [yuen_parts(g, trim) for g in groups]
    rows = []
    for i, j in combinations(range(k), 2):
        (centre_a, va, ha), (centre_b, vb, hb) = parts[i], parts[j]
        diff, se = centre_a - centre_b, np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (ha - 1) + vb**2 / (hb - 1)) if se > 0 else np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            p = (
                studentized_range_sf(float(np.sqrt(2.0) * abs(diff) / se), k, float(df))
                if se > 0
                else float(diff == 0)
            )
        row = {
            "group1": names[i],
            "group2": names[j],
            "mean_diff": diff,
            "p_adj": float(min(p, 1.0)),
            "ci_low": np.nan,
            "ci_high": np.nan,
            "se": float(se),
            "df": float(df),
        }
        if intervals:
            row["ci_low"], row["ci_high"] = games_howell_interval(diff, se, df, k, alpha)
        rows.append(row)
    return rows


def games_howell_interval(
    diff: float, se: float, df: float, k: int, alpha: float
) -> tuple[float, float]:
    """The simultaneous 1 - alpha interval of one Games-Howell difference among ``k`` groups."""
    if not (se > 0 and np.isfinite(df)):  # no spread in either group: undefined, not a point
        return np.nan, np.nan
    half = studentized_range_quantile(1.0 - alpha, k, df) / np.sqrt(2.0) * se
    return float(diff - half), float(diff + half)


METHODS = {"tukey": _tukey, "games_howell": games_howell}


def pairwise(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    *,
    by: Sequence[str] = ("model", "depth"),
    factor: str = "initializer",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Tukey HSD and Games-Howell for every pair of ``factor`` levels within each cell.

    Parameters
    ----------
    runs, metric, by, factor : the runs table, analyzed column, cell columns and compared factor.
    alpha : family-wise level of the intervals and of ``reject`` (per cell).

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``metric``, ``method`` (``tukey`` or ``games_howell``), ``group1``,
        ``group2``, ``mean_diff`` (group1 - group2), ``p_adj``, ``ci_low``, ``ci_high`` and
        ``reject``.

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> table = pairwise(toy_runs())
    >>> table[table["method"] == "games_howell"][["model", "group1", "group2", "reject"]]
             model   group1         group2  reject
    3         IWAE   normal        uniform    True
    4         IWAE   normal  xavier_normal    True
    5         IWAE  uniform  xavier_normal   False
    9   VanillaVAE   normal        uniform   False
    10  VanillaVAE   normal  xavier_normal   False
    11  VanillaVAE  uniform  xavier_normal   False
    """
    rows = []
    for keys, cell in iter_cells(runs, by):
        place = dict(zip(by, keys))
        grouped = [
            (str(name), g[metric].to_numpy(np.float64))
            for name, g in cell.groupby(factor, sort=True)
        ]
        if len(grouped) < 2 or any(g.size < 2 for _, g in grouped):
            continue
        names, groups = [n for n, _ in grouped], [g for _, g in grouped]
        for method, compare in METHODS.items():
            for row in compare(names, groups, alpha):
                row = {k: v for k, v in row.items() if k not in ("se", "df")}
                rows.append(
                    {
                        **place,
                        "metric": metric,
                        "method": method,
                        **row,
                        "reject": row["p_adj"] < alpha,
                    }
                )
    return pd.DataFrame(rows)


def letters(
    means: pd.Series, significant: Sequence[tuple[str, str]], higher_is_better: bool = False
) -> pd.Series:
    """Compact letter display for groups ``means`` (index = group) given the significant pairs."""
    order = list(means.sort_values(ascending=not higher_is_better).index)
    columns: list[set[str]] = [set(order)]
    for g1, g2 in significant:
        split = []
        for column in columns:
            if g1 in column and g2 in column:
                split += [column - {g1}, column - {g2}]
            else:
                split.append(column)
        columns = [c for c in split if not any(c < other for other in split)]  # absorb subsets
        columns = [c for i, c in enumerate(columns) if c not in columns[:i]]
    columns.sort(key=lambda c: min(order.index(g) for g in c))
    codes = "abcdefghijklmnopqrstuvwxyz"
    return pd.Series({g: "".join(codes[i] for i, c in enumerate(columns) if g in c) for g in order})


def superiority(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """P(A < B) + P(A = B) / 2 over all cross pairs, from ranks (the Mann-Whitney U of B over n_a
    n_b) in O(n log n) instead of an n_a x n_b table. ``a`` and ``b`` may carry a leading axis of
    resamples.
    """
    n_a, n_b = a.shape[-1], b.shape[-1]
    ranks = stats.rankdata(
        np.concatenate([a, b], axis=-1), axis=-1
    )  # average ranks: ties count one half
    u_b = ranks[..., n_a:].sum(axis=-1) - n_b * (n_b + 1) / 2
    return u_b / (n_a * n_b)


def clopper_pearson(successes: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson interval of a proportion from ``successes`` of ``n`` trials (a half success,
    a tie, allowed: the beta quantiles take any real count); its coverage is at least ``level`` at
    every n, 2 included.
    """
    tail = (1.0 - level) / 2
    low = stats.beta.ppf(tail, successes, n - successes + 1) if successes > 0 else 0.0
    high = stats.beta.ppf(1 - tail, successes + 1, n - successes) if successes < n else 1.0
    return float(low), float(high)


def improvement(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    *,
    by: Sequence[str] = ("model", "depth"),
    factor: str = "initializer",
    replicate: str = "seed",
    n_boot: int = 2000,
    random_state: int = 0,
    level: float = 0.95,
    higher_is_better: bool = False,
) -> pd.DataFrame:
    """P(group1 better than group2), paired by seed when seeds are shared (Clopper-Pearson CI over
    seeds), else over every cross pair (percentile bootstrap CI).

    Parameters
    ----------
    runs, metric, by, factor : the runs table, analyzed column, cell columns and compared factor.
    replicate : the column of replicate ids that pairs runs across levels (e.g. the seed).
    n_boot, random_state, level : the percentile bootstrap of unpaired comparisons and the
        confidence level.
    higher_is_better : the metric's direction.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, ``metric``, ``group1``, ``group2``, ``paired`` (compared seed by seed),
        ``n_pairs``, ``prob_better`` and ``ci_low``/``ci_high``.

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> table = improvement(toy_runs(), n_boot=200)
    >>> table[["model", "group1", "group2", "prob_better"]].round(2)
            model   group1         group2  prob_better
    0        IWAE   normal        uniform         0.00
    1        IWAE   normal  xavier_normal         0.00
    2        IWAE  uniform  xavier_normal         0.33
    3  VanillaVAE   normal        uniform         0.33
    4  VanillaVAE   normal  xavier_normal         0.33
    5  VanillaVAE  uniform  xavier_normal         0.67
    """
    rng = np.random.default_rng(random_state)
    alpha = (1.0 - level) / 2
    sign = -1.0 if higher_is_better else 1.0
    rows = []
    for keys, cell in iter_cells(runs, by):
        place = dict(zip(by, keys))
        wide = (
            cell.pivot_table(index=replicate, columns=factor, values=metric, aggfunc="first")
            if replicate in cell
            else None
        )
        names = sorted(cell[factor].astype(str).unique())
        for g1, g2 in combinations(names, 2):
            both = wide[[g1, g2]].dropna() if wide is not None else pd.DataFrame()
            paired = len(both) >= 2
            if paired:  # the same seeds: compare seed by seed; each seed a Bernoulli trial
                a, b = sign * both[g1].to_numpy(np.float64), sign * both[g2].to_numpy(np.float64)
                wins = (a < b) + 0.5 * (a == b)
                estimate, n_pairs = wins.mean(), wins.size
                low, high = clopper_pearson(float(wins.sum()), wins.size, level)
            else:  # every cross pair, from ranks
                a = sign * cell.loc[cell[factor].astype(str) == g1, metric].to_numpy(np.float64)
                b = sign * cell.loc[cell[factor].astype(str) == g2, metric].to_numpy(np.float64)
                if not (a.size and b.size):
                    continue
                ia, ib = (
                    rng.integers(0, a.size, (n_boot, a.size)),
                    rng.integers(0, b.size, (n_boot, b.size)),
                )
                estimate, n_pairs = superiority(a, b), a.size * b.size
                low, high = np.quantile(superiority(a[ia], b[ib]), [alpha, 1.0 - alpha])
            rows.append(
                {
                    **place,
                    "metric": metric,
                    "group1": g1,
                    "group2": g2,
                    "paired": paired,
                    "n_pairs": int(n_pairs),
                    "prob_better": float(estimate),
                    "ci_low": float(low),
                    "ci_high": float(high),
                }
            )
    return pd.DataFrame(rows)
