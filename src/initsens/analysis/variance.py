"""Variance components by REML: how much of a metric's variance is the initializer's?

Per cell (default model x depth) the model is ``metric = mu + a_initializer + b_seed + e`` with crossed
random intercepts a ~ N(0, s2_init), b ~ N(0, s2_seed) (seed only when seeds are shared across
initializers) and e ~ N(0, s2_resid). The restricted likelihood is maximized directly on the cell's
dense covariance (cells hold tens of runs): the residual variance is profiled out, the variance ratios
are bounded below by 0 (so a component at the boundary comes out as exactly 0, not noise), and several
starting points are tried, keeping the best finite likelihood. This avoids the known pitfalls of
iterative mixed-model fitters near the boundary.

Returned columns: the cell keys, ``metric``, ``component`` (``initializer``, ``seed``, ``residual``),
``variance``, ``share`` (the component's fraction of the total; for ``initializer`` this is the ICC
s2_init / (s2_init + s2_seed + s2_resid)), ``reml_loglik``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from initsens.errors import InitsensError


def _indicator(codes: np.ndarray) -> np.ndarray:
    levels, index = np.unique(codes, return_inverse=True)
    return np.eye(len(levels))[index]


def _profiled(ratios: np.ndarray, y: np.ndarray, grams: list[np.ndarray]) -> tuple[float, float]:
    """(-REML log-likelihood, residual variance) for variance ratios s2_k / s2_resid."""
    n = y.size
    H = np.eye(n) + sum(r * G for r, G in zip(ratios, grams))
    chol = np.linalg.cholesky(H)
    solve = lambda b: np.linalg.solve(chol.T, np.linalg.solve(chol, b))  # noqa: E731
    ones = np.ones(n)
    h_inv_1, h_inv_y = solve(ones), solve(y)
    xtx = ones @ h_inv_1
    beta = (ones @ h_inv_y) / xtx
    quad = y @ h_inv_y - beta * (ones @ h_inv_y)
    s2 = quad / (n - 1)
    logdet = 2.0 * np.log(np.diag(chol)).sum()
    loglik = -0.5 * ((n - 1) * (math.log(2 * math.pi * s2) + 1.0) + logdet + math.log(xtx))
    return -loglik, s2


def reml_components(y: np.ndarray, groups: dict[str, np.ndarray]) -> tuple[dict[str, float], float]:
    """REML variances of crossed random intercepts ``groups`` (name -> level per observation) and the
    residual, with the REML log-likelihood."""
    y = np.asarray(y, dtype=np.float64)
    y = y - y.mean()  # the intercept absorbs any shift; centring keeps the algebra well scaled
    grams = [(_indicator(codes) @ _indicator(codes).T) for codes in groups.values()]
    best = None
    for start in (0.01, 0.1, 1.0, 10.0):
        fit = minimize(lambda r: _profiled(r, y, grams)[0], np.full(len(grams), start), method="L-BFGS-B",
                       bounds=[(0.0, None)] * len(grams), options={"ftol": 1e-14, "gtol": 1e-9})
        if np.isfinite(fit.fun) and (best is None or fit.fun < best.fun):
            best = fit
    ratios = best.x
    neg_loglik, s2 = _profiled(ratios, y, grams)
    variances = {name: float(r * s2) for name, r in zip(groups, ratios)}
    variances["residual"] = float(s2)
    return variances, -neg_loglik


def variance_components(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    by: Sequence[str] = ("model", "depth"),
    factor: str = "initializer",
    seed: str = "seed",
) -> pd.DataFrame:
    """One row per cell and component: REML variances and their shares (see module docstring)."""
    missing = [c for c in (*by, factor, metric) if c not in runs.columns]
    if missing:
        raise InitsensError(f"results table has no column(s) {', '.join(missing)}")
    rows = []
    for keys, cell in runs.groupby(list(by), sort=True):
        y = cell[metric].to_numpy(np.float64)
        groups = {factor: cell[factor].to_numpy()}
        if seed in cell.columns and cell.groupby(seed)[factor].nunique().max() > 1:
            groups[seed] = cell[seed].to_numpy()
        if cell[factor].nunique() < 2 or y.size <= cell[factor].nunique():
            continue
        variances, loglik = reml_components(y, groups)
        total = sum(variances.values())
        for component, variance in variances.items():
            rows.append({**dict(zip(by, keys)), "metric": metric, "component": component, "variance": variance,
                         "share": variance / total if total > 0 else np.nan, "reml_loglik": loglik})
    return pd.DataFrame(rows)
