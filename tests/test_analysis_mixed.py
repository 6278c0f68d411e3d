"""Mixed model across cells against lme4::lmer(val_loss ~ model * initializer * depth + (1 | seed))
with sum contrasts (tests/fixtures/anova/reference.R -> r_lmm_*.csv)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from initsens.analysis.formulas import factorial_formula
from initsens.analysis.mixed import fit_random_intercept, initializer_lrt, mixed_model

FIXTURES = Path(__file__).parent / "fixtures" / "anova"
LEVELS = {
    "model": ["IWAE", "VanillaVAE"],
    "initializer": ["default", "normal", "xavier_uniform"],
    "depth": ["1", "2"],
}


def r_term(term: str) -> str:
    """lme4's model1:initializer2 -> our model[IWAE]:initializer[normal] (sum contrasts, level
    index).
    """
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
    np.testing.assert_allclose(
        est.loc[ref.index, "estimate"], ref["estimate"], rtol=1e-5, atol=1e-8
    )
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


def test_random_intercept_equals_dense_gls_and_statsmodels():
    """The sufficient-statistics fit against dense algebra at its own variances (beta, SEs, the
    likelihood by the textbook formula) and against statsmodels' MixedLM (a second implementation)
    on unbalanced data.
    """
    rng = np.random.default_rng(7)
    groups = rng.integers(0, 9, 60)
    exog = np.column_stack([np.ones(60), rng.normal(size=(60, 3))])
    y = exog @ [1.0, 0.5, -0.3, 0.2] + rng.normal(0, 0.9, 9)[groups] + rng.normal(0, 0.5, 60)
    for reml in (True, False):
        s2_group, s2, beta, se, loglik = fit_random_intercept(exog, y, groups, reml)
        v = s2 * np.eye(60) + s2_group * (groups[:, None] == groups[None, :])
        v_inv = np.linalg.inv(v)
        cov = np.linalg.inv(exog.T @ v_inv @ exog)
        np.testing.assert_allclose(beta, cov @ exog.T @ v_inv @ y, rtol=1e-8)
        np.testing.assert_allclose(se, np.sqrt(np.diag(cov)), rtol=1e-8)
        r = y - exog @ beta
        dense = -0.5 * (
            np.linalg.slogdet(v)[1] + r @ v_inv @ r + (60 - 4 * reml) * np.log(2 * np.pi)
        )
        if reml:
            dense -= 0.5 * np.linalg.slogdet(exog.T @ v_inv @ exog)[1]
        assert loglik == pytest.approx(dense, rel=1e-10)
        frame = pd.DataFrame(exog[:, 1:], columns=["a", "b", "c"]).assign(y=y, g=groups)
        sm = smf.mixedlm("y ~ a + b + c", frame, groups=frame["g"]).fit(reml=reml, method="lbfgs")
        assert loglik >= sm.llf - 1e-8  # never worse than MixedLM's optimum
        assert loglik == pytest.approx(sm.llf, abs=1e-5)
        np.testing.assert_allclose(beta, sm.fe_params, rtol=1e-4)
        np.testing.assert_allclose(
            [s2_group, s2], [float(sm.cov_re.iloc[0, 0]), sm.scale], rtol=1e-3
        )


def test_boundary_fit_has_zero_seed_variance():
    """No seed effect at all: the maximum is at theta = 0, where the fit is ordinary least
    squares.
    """
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(10), 5)
    exog = np.column_stack([np.ones(50), rng.normal(size=50)])
    y = exog @ [2.0, 1.0] + rng.normal(size=50)
    y -= (
        np.bincount(groups, weights=y)[groups] / 5 - y.mean()
    )  # remove every between-seed difference
    s2_group, _, beta, _, _ = fit_random_intercept(exog, y, groups, reml=True)
    assert s2_group == 0.0
    np.testing.assert_allclose(beta, np.linalg.lstsq(exog, y, rcond=None)[0], rtol=1e-10)


def test_formula_api_design_matches_the_table_of_terms():
    data = pd.read_csv(FIXTURES / "balanced.csv").astype({"depth": str})
    formula = factorial_formula("val_loss", ["model", "initializer", "depth"])
    ours = mixed_model(pd.read_csv(FIXTURES / "balanced.csv"))
    assert (ours["kind"] == "fixed").sum() == smf.ols(formula, data).fit().params.size == 12


def test_the_level_sum_contrasts_leave_out_has_its_row_equal_to_a_refit_that_keeps_it():
    """The last initializer's effect (minus the sum of the others) and its SE equal those of a refit
    in which that level is renamed to sort first, so another level is the one left out and it is
    estimated directly.
    """
    runs = pd.read_csv(FIXTURES / "unbalanced.csv")
    ours = mixed_model(runs, factors=("model", "initializer"))
    last = sorted(runs["initializer"].astype(str).unique())[-1]
    derived = ours[
        (ours["kind"] == "fixed (derived)") & (ours["term"] == f"initializer[{last}]")
    ].iloc[0]
    renamed = runs.assign(
        initializer=runs["initializer"].astype(str).replace({last: "aaa_" + last})
    )
    direct = (
        mixed_model(renamed, factors=("model", "initializer"))
        .set_index("term")
        .loc[f"initializer[aaa_{last}]"]
    )
    assert derived["estimate"] == pytest.approx(direct["estimate"], rel=1e-6)
    assert derived["std_err"] == pytest.approx(direct["std_err"], rel=1e-5)
