"""Linear mixed model across cells: ``metric ~ model * initializer * depth + (1 | seed)``.

A random-intercept model whose REML or ML likelihood is computed for all seeds at once from per-seed
sufficient statistics (:func:`fit_random_intercept`): lme4's estimates in milliseconds where
statsmodels' MixedLM took minutes at 18,000 runs. The algorithm and the likelihood-ratio test: the
docs' :doc:`Analyze a sweep </guide/analyze>` page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import patsy
from scipy import optimize, stats

from initsens.analysis.cells import require_columns
from initsens.analysis.formulas import factorial_formula, term_name
from initsens.errors import InitsensError

LOG2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class MixedFit:
    """A random-intercept fit reduced to what the tables need."""

    terms: list[str]
    estimate: np.ndarray
    std_err: np.ndarray
    var_group: float
    var_resid: float
    loglik: float
    n_fixed: int
    cov: np.ndarray  # of the fixed effects (GLS)


@dataclass(frozen=True)
class _Sufficient:
    """What the likelihood needs of (X, y, seeds): cross products and per-seed sums."""

    xtx: np.ndarray
    xty: np.ndarray
    yty: float
    x_sum: np.ndarray  # (seeds, p)
    y_sum: np.ndarray  # (seeds,)
    counts: np.ndarray  # (seeds,)

    @classmethod
    def of(cls, exog: np.ndarray, y: np.ndarray, groups: np.ndarray) -> _Sufficient:
        _, codes = np.unique(groups, return_inverse=True)
        counts = np.bincount(codes).astype(np.float64)
        x_sum = np.zeros((counts.size, exog.shape[1]))
        np.add.at(x_sum, codes, exog)
        return cls(
            exog.T @ exog, exog.T @ y, float(y @ y), x_sum, np.bincount(codes, weights=y), counts
        )

    def system(self, theta: float) -> tuple[np.ndarray, np.ndarray, float]:
        """(X'H^-1X, X'H^-1y, y'H^-1y) for H = I + theta Z Z' (V = s2 H)."""
        weight = theta / (1.0 + theta * self.counts)
        weighted = self.x_sum * weight[:, None]
        return (
            self.xtx - weighted.T @ self.x_sum,
            self.xty - weighted.T @ self.y_sum,
            self.yty - float(weight @ self.y_sum**2),
        )


def _profile(
    stats_: _Sufficient, theta: float, reml: bool
) -> tuple[float, np.ndarray, np.ndarray, float]:
    """(log-likelihood with s2 and beta profiled out, beta, X'H^-1X, s2) at ``theta``."""
    a, c, q = stats_.system(theta)
    n, p = float(stats_.counts.sum()), a.shape[0]
    chol = np.linalg.cholesky(a)
    beta = np.linalg.solve(a, c)
    resid = max(q - float(c @ beta), 1e-300)
    logdet_h = float(np.log1p(theta * stats_.counts).sum())
    if reml:
        s2 = resid / (n - p)
        loglik = -0.5 * (
            (n - p) * (LOG2PI + np.log(s2) + 1.0) + logdet_h + 2.0 * np.log(np.diag(chol)).sum()
        )
    else:
        s2 = resid / n
        loglik = -0.5 * (n * (LOG2PI + np.log(s2) + 1.0) + logdet_h)
    return float(loglik), beta, a, s2


def fit_random_intercept(
    exog: np.ndarray, y: np.ndarray, groups: np.ndarray, reml: bool = True
) -> tuple[float, float, np.ndarray, np.ndarray, float]:
    """(s2_group, s2, beta, GLS standard errors, log-likelihood) of y = X beta + b_group + e by REML
    or ML.

    The profile likelihood in log theta is scanned on a grid (theta = 0 included), and the best grid
    point is refined with Brent's method between its neighbours.
    """
    stats_ = _Sufficient.of(
        np.asarray(exog, np.float64), np.asarray(y, np.float64), np.asarray(groups)
    )
    if np.linalg.matrix_rank(stats_.xtx) < stats_.xtx.shape[0]:
        raise InitsensError(
            "the mixed model's fixed effects are not estimable (some combination of levels "
            "has no runs)"
        )

    def objective(log_theta: float) -> float:
        return -_profile(stats_, float(np.exp(log_theta)), reml)[0]

    grid = np.linspace(-25.0, 15.0, 81)
    values = np.array([objective(v) for v in grid])
    best = int(np.argmin(values))
    lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)]
    refined = optimize.minimize_scalar(
        objective, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10}
    )
    candidates = [
        (values[best], float(np.exp(grid[best]))),
        (float(refined.fun), float(np.exp(refined.x))),
        (-_profile(stats_, 0.0, reml)[0], 0.0),
    ]
    _, theta = min(candidates)
    loglik, beta, a, s2 = _profile(stats_, theta, reml)
    std_err = np.sqrt(np.diag(s2 * np.linalg.inv(a)))
    return theta * s2, s2, beta, std_err, loglik


def fit_mixed(data: pd.DataFrame, formula: str, replicate: str, reml: bool) -> MixedFit:
    """The random-intercept fit of ``formula`` with ``replicate`` intercepts, with GLS standard
    errors.
    """
    endog, exog = patsy.dmatrices(formula, data, return_type="dataframe")
    x, y, groups = exog.to_numpy(), endog.to_numpy().ravel(), data[replicate].to_numpy()
    var_group, var_resid, beta, std_err, loglik = fit_random_intercept(x, y, groups, reml)
    theta = var_group / var_resid if var_resid > 0 else 0.0
    _, _, a, s2 = _profile(
        _Sufficient.of(np.asarray(x, np.float64), np.asarray(y, np.float64), np.asarray(groups)),
        theta,
        reml,
    )
    return MixedFit(
        terms=[term_name(c) for c in exog.columns],
        estimate=beta,
        std_err=std_err,
        var_group=var_group,
        var_resid=var_resid,
        loglik=loglik,
        n_fixed=exog.shape[1],
        cov=s2 * np.linalg.inv(a),
    )


def omitted_levels(fit: MixedFit, data: pd.DataFrame, factors: Sequence[str]) -> pd.DataFrame:
    """The main effect of each factor's last level, which sum-to-zero contrasts leave out of the
    fit: minus the sum of the other levels' effects, with its GLS standard error (from their
    covariance), so every level has a row.
    """
    rows = []
    for factor in factors:
        levels = sorted(data[factor].unique())
        shown = [i for i, t in enumerate(fit.terms) if t in {f"{factor}[{lv}]" for lv in levels}]
        if len(shown) != len(levels) - 1:
            continue
        ones = np.ones(len(shown))
        estimate = -float(fit.estimate[shown].sum())
        std_err = float(np.sqrt(ones @ fit.cov[np.ix_(shown, shown)] @ ones))
        z = estimate / std_err
        rows.append(
            {
                "kind": "fixed (derived)",
                "term": f"{factor}[{levels[-1]}]",
                "estimate": estimate,
                "std_err": std_err,
                "z": z,
                "p_value": 2 * stats.norm.sf(abs(z)),
            }
        )
    return pd.DataFrame(rows)


def _prepare(
    runs: pd.DataFrame, metric: str, factors: Sequence[str], replicate: str
) -> tuple[pd.DataFrame, list[str]]:
    require_columns(runs, (*factors, replicate, metric))
    data = runs[[*factors, replicate, metric]].copy()
    for f in factors:
        data[f] = data[f].astype(str)
    if data[replicate].nunique() < 2:
        raise InitsensError(f"the mixed model needs at least two levels of {replicate!r}")
    return data, [f for f in factors if data[f].nunique() > 1]


def mixed_model(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    *,
    factors: Sequence[str] = ("model", "initializer", "depth"),
    replicate: str = "seed",
    reml: bool = True,
) -> pd.DataFrame:
    """Fixed effects (GLS SEs, Wald z) and variances of
    ``metric ~ factors (full factorial) + (1 | replicate)``.

    Returns
    -------
    pandas.DataFrame
        ``kind`` (``fixed``; ``fixed (derived)`` for each factor's last level, which the sum-to-zero
        contrasts leave out: minus the sum of the others, with its standard error; or ``variance``),
        ``term``, ``estimate``, ``std_err``, ``z``, ``p_value`` (fixed effects only), ``metric``,
        ``method`` (REML or ML) and ``loglik``.

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> table = mixed_model(toy_runs(), factors=("model", "initializer"))
    >>> table[table["kind"] != "fixed"][["kind", "term", "estimate"]].round(4)
                  kind                        term  estimate
    2  fixed (derived)           model[VanillaVAE]   -0.1491
    5  fixed (derived)  initializer[xavier_normal]   -0.2029
    8         variance                        seed    0.0000
    9         variance                    residual    0.0052
    """
    data, factors = _prepare(runs, metric, factors, replicate)
    fit = fit_mixed(data, factorial_formula(metric, factors), replicate, reml)
    z = fit.estimate / fit.std_err
    common = {"metric": metric, "method": "REML" if reml else "ML", "loglik": fit.loglik}
    fixed = pd.DataFrame(
        {
            "kind": "fixed",
            "term": fit.terms,
            "estimate": fit.estimate,
            "std_err": fit.std_err,
            "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
        }
    )
    variances = pd.DataFrame(
        {
            "kind": "variance",
            "term": [replicate, "residual"],
            "estimate": [fit.var_group, fit.var_resid],
        }
    )
    parts = [fixed]
    for _, row in omitted_levels(
        fit, data, factors
    ).iterrows():  # each after its factor's other main effects
        table = pd.concat(parts, ignore_index=True)
        factor = row["term"].split("[")[0]
        last = table.index[table["term"].str.match(rf"{factor}\[[^:]*\]$")].max()
        parts = [table.iloc[: last + 1], row.to_frame().T, table.iloc[last + 1 :]]
    fixed = pd.concat(parts, ignore_index=True).astype(
        {"estimate": float, "std_err": float, "z": float, "p_value": float}
    )
    return pd.concat([fixed, variances], ignore_index=True).assign(**common)


def initializer_lrt(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    *,
    factors: Sequence[str] = ("model", "initializer", "depth"),
    replicate: str = "seed",
    factor: str = "initializer",
) -> pd.DataFrame:
    """Likelihood-ratio test (ML fits) of every fixed term that involves ``factor``.

    Returns
    -------
    pandas.DataFrame
        One row: ``metric``, ``dropped`` (the terms removed), ``chisq``, ``df``, ``p_value``,
        ``loglik_full`` and ``loglik_reduced``.

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> test = initializer_lrt(toy_runs(), factors=("model", "initializer"))
    >>> test[["dropped", "df"]], bool(test["p_value"].iloc[0] < 0.001)
    (             dropped  df
    0  initializer terms   4, True)
    """
    data, factors = _prepare(runs, metric, factors, replicate)
    if factor not in factors:
        raise InitsensError(f"the likelihood-ratio test needs at least two levels of {factor!r}")
    full = fit_mixed(data, factorial_formula(metric, factors), replicate, reml=False)
    reduced = fit_mixed(
        data, factorial_formula(metric, [f for f in factors if f != factor]), replicate, reml=False
    )
    chisq = max(2.0 * (full.loglik - reduced.loglik), 0.0)
    df = full.n_fixed - reduced.n_fixed
    return pd.DataFrame(
        [
            {
                "metric": metric,
                "dropped": f"{factor} terms",
                "chisq": chisq,
                "df": df,
                "p_value": float(stats.chi2.sf(chisq, df)),
                "loglik_full": full.loglik,
                "loglik_reduced": reduced.loglik,
            }
        ]
    )
