"""Tests whose error rates hold at a handful of seeds and at Bonferroni levels.

:func:`sign_flip_p` (Fisher's exact sign-flip test), :func:`jackknife_t` (a t interval from the
leave-one-seed-out jackknife) and :func:`omega_sq` / :func:`rank_omega_sq` (vectorized for the
jackknife) replace a percentile bootstrap, which cannot reach Bonferroni tails at 10 seeds. Why and
how: the docs' :doc:`Analyze a sweep </guide/analyze>` page.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import stats

#: Exact enumeration up to this many nonzero differences (2^20 patterns); beyond, Monte Carlo.
EXACT_MAX = 20


def sign_patterns(n: int) -> np.ndarray:
    """All 2^n sign patterns as an (2^n, n) array of +-1."""
    codes = np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n, dtype=np.int64)[None, :]
    return 1.0 - 2.0 * (codes & 1)


def sign_flip_p(
    differences: np.ndarray,
    alternative: str = "greater",
    rng: np.random.Generator | None = None,
    draws: int = 200_000,
) -> float:
    """Exact one-sided p-value of the sign-flip test that the mean of ``differences`` is above 0
    (``alternative='greater'``) or below 0 (``'less'``); NaNs are dropped, zeros carry no sign.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    if alternative == "less":
        d = -d
    elif alternative != "greater":
        raise ValueError(f"alternative must be 'greater' or 'less', not {alternative!r}")
    d = d[d != 0]
    if not d.size:
        return 1.0
    observed = d.sum()
    tolerance = 1e-12 * np.abs(d).sum()
    if d.size <= EXACT_MAX:
        sums = sign_patterns(d.size) @ np.abs(d)
        return float(np.mean(sums >= observed - tolerance))
    rng = rng or np.random.default_rng(0)
    signs = rng.choice([-1.0, 1.0], size=(draws, d.size))
    return float((1 + np.sum(signs @ np.abs(d) >= observed - tolerance)) / (draws + 1))


def sign_flip_p_batch(differences: np.ndarray, alternative: str = "greater") -> np.ndarray:
    """:func:`sign_flip_p` of every row of a (tables, n) array with no NaNs, n <= :data:`EXACT_MAX`
    (for simulations: one matrix product instead of a loop).
    """
    d = np.asarray(differences, dtype=np.float64)
    if alternative == "less":
        d = -d
    sums = np.abs(d) @ sign_patterns(d.shape[1]).T
    tolerance = 1e-12 * np.abs(d).sum(1, keepdims=True)
    return np.mean(sums >= d.sum(1, keepdims=True) - tolerance, axis=1)


def min_sign_flip_p(n_nonzero: int) -> float:
    """The smallest one-sided p-value the sign-flip test can give with ``n_nonzero`` nonzero
    differences.
    """
    return 2.0**-n_nonzero


def seeds_for_level(level: float) -> int:
    """Seeds (nonzero paired differences) the sign-flip test needs before it can reach one-sided
    ``level``.
    """
    return math.ceil(math.log2(1.0 / level) - 1e-12)


def jackknife_t(
    statistic: Callable[[np.ndarray], np.ndarray],
    blocks: int,
    level: float,
    side: str = "two-sided",
) -> tuple[float, float, float, float]:
    """(estimate, standard error, low, high) of ``statistic`` by the delete-one-block jackknife and
    the t distribution with ``blocks - 1`` degrees of freedom.

    ``statistic(keep)`` gets a boolean (replicates, blocks) mask of the blocks to use and returns
    one value per replicate; row 0 keeps every block, row i + 1 drops block i. ``side`` 'lower' or
    'upper' gives a one-sided bound at ``level`` (the other end infinite).
    """
    keep = np.ones((blocks + 1, blocks), dtype=bool)
    keep[np.arange(1, blocks + 1), np.arange(blocks)] = False
    values = np.asarray(statistic(keep), dtype=np.float64)
    estimate, leave_out = values[0], values[1:]
    if blocks < 2 or not np.all(np.isfinite(values)):
        return float(estimate), np.nan, np.nan, np.nan
    se = math.sqrt((blocks - 1) / blocks * np.sum((leave_out - leave_out.mean()) ** 2))
    tail = (1 - level) / 2 if side == "two-sided" else 1 - level
    half = stats.t.ppf(1 - tail, blocks - 1) * se
    low = estimate - half if side in ("two-sided", "lower") else -np.inf
    high = estimate + half if side in ("two-sided", "upper") else np.inf
    return float(estimate), se, float(low), float(high)


def omega_sq(values: np.ndarray, groups: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """omega^2 = (SS_between - (k - 1) MS_within) / (SS_total + MS_within) of ``values`` ((n,), or
    one row per replicate) grouped by integer codes ``groups`` (n,), once per row of 0/1 ``weights``
    (replicates, n) selecting the observations used.
    """
    w = np.asarray(weights, dtype=np.float64)
    x = np.asarray(values, dtype=np.float64)
    codes = np.asarray(groups)
    k_all = int(codes.max()) + 1
    onehot = (codes[:, None] == np.arange(k_all)[None, :]).astype(np.float64)
    xw = np.where(w > 0, w * x, 0.0)  # an unused observation may hold NaN
    counts = w @ onehot
    sums = xw @ onehot
    n = counts.sum(1)
    grand = sums.sum(1) / n
    means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1), 0.0)
    ss_total = np.sum(np.where(w > 0, xw * x, 0.0), axis=1) - n * grand**2
    ss_between = np.sum(counts * (means - grand[:, None]) ** 2, axis=1)
    k = (counts > 0).sum(1)
    ms_within = (ss_total - ss_between) / (n - k)
    return (ss_between - (k - 1) * ms_within) / (ss_total + ms_within)


def rank_omega_sq(values: np.ndarray, groups: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """:func:`omega_sq` of the ranks of ``values`` (n,) among the observations each row of
    ``weights`` keeps, ranked anew per row (ties share their mean rank; ``inf``, a failed run, ties
    last): the share of the rank variance the groups explain, scale-free and defined with failures.
    NaN where every kept value ties.
    """
    w = np.asarray(weights, dtype=np.float64)
    x = np.broadcast_to(np.asarray(values, dtype=np.float64), w.shape)
    ranks = stats.rankdata(np.where(w > 0, x, np.nan), axis=1, nan_policy="omit")
    return omega_sq(ranks, groups, w)
