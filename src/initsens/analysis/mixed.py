"""Linear mixed model across cells: ``metric ~ model * initializer * depth + (1 | seed)``.

Fitted with statsmodels' MixedLM (formula API, sum-to-zero contrasts so the fixed effects are
deviations from the grand mean). MixedLM's default optimizer can stop off the optimum when the seed
variance is near zero (it may even report an infinite likelihood as converged), so every fit is run
with several optimizers and the best finite likelihood is kept (the derivative-free ones are skipped
only when the first two agree, converged, with the seed variance clearly above zero). The fixed-effect
standard errors are then the GLS ones, sqrt(diag((X' V^-1 X)^-1)) at the fitted variances, as lme4 reports; V^-1 is
applied through the Woodbury identity (V = s2 I + s2_seed Z Z'), so 40,000 runs are cheap.

The likelihood-ratio test of the initializer terms compares ML fits (REML likelihoods of models with
different fixed effects are not comparable) of the full model and the model without any term that
involves the initializer.

:func:`mixed_model` returns one row per fixed effect (``kind`` = ``fixed``: ``term``, ``estimate``,
``std_err``, ``z``, ``p_value``) and per variance (``kind`` = ``variance``: ``term`` = ``seed`` or
``residual``, ``estimate`` = the variance), with ``metric``, ``method`` (``REML`` or ``ML``) and
``loglik``. :func:`initializer_lrt` returns ``metric``, ``dropped``, ``chisq``, ``df``, ``p_value``,
``loglik_full``, ``loglik_reduced``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from initsens.analysis.cells import require_columns
from initsens.analysis.formulas import factorial_formula, term_name
from initsens.errors import InitsensError

OPTIMIZERS = ("lbfgs", "bfgs", "powell", "nm", "cg")


@dataclass(frozen=True)
class MixedFit:
    """A MixedLM fit reduced to what the tables need."""

    terms: list[str]
    estimate: np.ndarray
    std_err: np.ndarray
    var_group: float
    var_resid: float
    loglik: float
    n_fixed: int


def _gls(exog: np.ndarray, y: np.ndarray, groups: np.ndarray, var_group: float,
         var_resid: float) -> tuple[np.ndarray, np.ndarray]:
    """GLS estimates and standard errors for V = var_resid I + var_group Z Z' (Woodbury)."""
    _, codes = np.unique(groups, return_inverse=True)
    counts = np.bincount(codes).astype(np.float64)
    ratio = var_group / var_resid
    weight = ratio / (1.0 + ratio * counts)  # per group: V^-1 = (I - Z diag(weight) Z') / var_resid
    x_sum = np.zeros((counts.size, exog.shape[1]))
    np.add.at(x_sum, codes, exog)
    y_sum = np.bincount(codes, weights=y, minlength=counts.size)
    xtvx = (exog.T @ exog - (x_sum * weight[:, None]).T @ x_sum) / var_resid
    xtvy = (exog.T @ y - (x_sum * weight[:, None]).T @ y_sum) / var_resid
    cov = np.linalg.inv(xtvx)
    return cov @ xtvy, np.sqrt(np.diag(cov))


def _agree(fits: list) -> bool:
    """The fits so far reach the same likelihood, converged, with a seed variance off the boundary."""
    llfs = [f.llf for f in fits]
    interior = all(float(f.cov_re.iloc[0, 0]) > 1e-4 * f.scale for f in fits)
    return all(f.converged for f in fits) and interior and max(llfs) - min(llfs) < 1e-6 * max(1.0, abs(max(llfs)))


def fit_mixed(data: pd.DataFrame, formula: str, group: str, reml: bool) -> MixedFit:
    """Best finite-likelihood MixedLM fit over several optimizers, with GLS standard errors."""
    model = smf.mixedlm(formula, data, groups=data[group])
    best, fits = None, []  # type: ignore[var-annotated]
    for method in OPTIMIZERS:
        if len(fits) >= 2 and _agree(fits):
            break  # two gradient optimizers agree away from the boundary: the slower ones add nothing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                fit = model.fit(reml=reml, method=method, maxiter=2000)
            except (np.linalg.LinAlgError, ValueError):
                continue
        if np.isfinite(fit.llf) and fit.scale > 0:
            fits.append(fit)
            if best is None or fit.llf > best.llf + 1e-10:
                best = fit
    if best is None:
        raise InitsensError(f"the mixed model {formula} could not be fitted by any optimizer")
    var_group = max(float(best.cov_re.iloc[0, 0]), 0.0)
    estimate, std_err = _gls(model.exog, model.endog, data[group].to_numpy(), var_group, float(best.scale))
    return MixedFit([term_name(c) for c in model.exog_names], estimate, std_err, var_group,
                    float(best.scale), float(best.llf), model.exog.shape[1])


def _prepare(runs: pd.DataFrame, metric: str, factors: Sequence[str], group: str) -> tuple[pd.DataFrame, list[str]]:
    require_columns(runs, (*factors, group, metric))
    data = runs[[*factors, group, metric]].copy()
    for f in factors:
        data[f] = data[f].astype(str)
    if data[group].nunique() < 2:
        raise InitsensError(f"the mixed model needs at least two levels of {group!r}")
    return data, [f for f in factors if data[f].nunique() > 1]


def mixed_model(runs: pd.DataFrame, metric: str = "val_loss",
                factors: Sequence[str] = ("model", "initializer", "depth"), group: str = "seed",
                reml: bool = True) -> pd.DataFrame:
    """Fixed effects (GLS SEs, Wald z) and variances of ``metric ~ factors (full factorial) + (1 | group)``."""
    data, factors = _prepare(runs, metric, factors, group)
    fit = fit_mixed(data, factorial_formula(metric, factors), group, reml)
    z = fit.estimate / fit.std_err
    common = {"metric": metric, "method": "REML" if reml else "ML", "loglik": fit.loglik}
    fixed = pd.DataFrame({"kind": "fixed", "term": fit.terms, "estimate": fit.estimate, "std_err": fit.std_err,
                          "z": z, "p_value": 2 * stats.norm.sf(np.abs(z))})
    variances = pd.DataFrame({"kind": "variance", "term": [group, "residual"],
                              "estimate": [fit.var_group, fit.var_resid]})
    return pd.concat([fixed, variances], ignore_index=True).assign(**common)


def initializer_lrt(runs: pd.DataFrame, metric: str = "val_loss",
                    factors: Sequence[str] = ("model", "initializer", "depth"), group: str = "seed",
                    factor: str = "initializer") -> pd.DataFrame:
    """Likelihood-ratio test (ML fits) of every fixed term that involves ``factor``."""
    data, factors = _prepare(runs, metric, factors, group)
    if factor not in factors:
        raise InitsensError(f"the likelihood-ratio test needs at least two levels of {factor!r}")
    full = fit_mixed(data, factorial_formula(metric, factors), group, reml=False)
    reduced = fit_mixed(data, factorial_formula(metric, [f for f in factors if f != factor]), group, reml=False)
    chisq = max(2.0 * (full.loglik - reduced.loglik), 0.0)
    df = full.n_fixed - reduced.n_fixed
    return pd.DataFrame([{"metric": metric, "dropped": f"{factor} terms", "chisq": chisq, "df": df,
                          "p_value": float(stats.chi2.sf(chisq, df)), "loglik_full": full.loglik,
                          "loglik_reduced": reduced.loglik}])
