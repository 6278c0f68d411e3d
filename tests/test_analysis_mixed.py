"""Mixed model across cells against lme4::lmer(val_loss ~ model * initializer * depth + (1 | seed))
with sum contrasts (tests/fixtures/anova/reference.R -> r_lmm_*.csv)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from initsens.analysis.mixed import _gls, initializer_lrt, mixed_model

FIXTURES = Path(__file__).parent / "fixtures" / "anova"
LEVELS = {"model": ["IWAE", "VanillaVAE"], "initializer": ["default", "normal", "xavier_uniform"], "depth": ["1", "2"]}


def r_term(term: str) -> str:
    """lme4's model1:initializer2 -> our model[IWAE]:initializer[normal] (sum contrasts, level index)."""
    if term == "(Intercept)":
        return "Intercept"
    return ":".join(f"{f}[{LEVELS[f][int(i) - 1]}]" for f, i in re.findall(r"([a-z]+)(\d+)", term))


@pytest.mark.parametrize("design", ["balanced", "unbalanced"])
@pytest.mark.parametrize("reml", [True, False])
def test_mixed_model_matches_lme4(design, reml):
    fixed = pd.read_csv(FIXTURES / "r_lmm_fixed.csv").query("design == @design and reml == @reml")
    variances = pd.read_csv(FIXTURES / "r_lmm_var.csv").query("design == @design and reml == @reml")
    ours = mixed_model(pd.read_csv(FIXTURES / f"{design}.csv"), reml=reml)
    est = ours[ours.kind == "fixed"].set_index("term")
    ref = fixed.assign(term=fixed["term"].map(r_term)).set_index("term")
    assert set(est.index) == set(ref.index)
    np.testing.assert_allclose(est.loc[ref.index, "estimate"], ref["estimate"], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(est.loc[ref.index, "std_err"], ref["std_err"], rtol=1e-4)
    var = ours[ours.kind == "variance"].set_index("term")["estimate"]
    ref_var = variances.set_index("component")["variance"]
    np.testing.assert_allclose(var[["seed", "residual"]], ref_var[["seed", "residual"]], rtol=1e-4)
    assert ours["loglik"].iloc[0] == pytest.approx(variances["loglik"].iloc[0], rel=1e-7)


@pytest.mark.parametrize("design", ["balanced", "unbalanced"])
def test_initializer_lrt_matches_lme4(design):
    ref = pd.read_csv(FIXTURES / "r_lmm_lrt.csv").query("design == @design").iloc[0]
    ours = initializer_lrt(pd.read_csv(FIXTURES / f"{design}.csv")).iloc[0]
    assert ours["df"] == ref["df"]
    assert ours["chisq"] == pytest.approx(ref["chisq"], rel=1e-5)
    assert ours["p_value"] == pytest.approx(ref["p_value"], rel=1e-4)


def test_gls_woodbury_equals_dense_algebra():
    rng = np.random.default_rng(7)
    groups = rng.integers(0, 6, 40)
    exog = np.column_stack([np.ones(40), rng.normal(size=(40, 3))])
    y = rng.normal(size=40)
    v = 0.3 * np.eye(40) + 0.8 * (groups[:, None] == groups[None, :])
    v_inv = np.linalg.inv(v)
    cov = np.linalg.inv(exog.T @ v_inv @ exog)
    beta, se = _gls(exog, y, groups, 0.8, 0.3)
    np.testing.assert_allclose(beta, cov @ exog.T @ v_inv @ y, rtol=1e-10)
    np.testing.assert_allclose(se, np.sqrt(np.diag(cov)), rtol=1e-10)
