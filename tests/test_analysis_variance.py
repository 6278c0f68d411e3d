"""REML variance components against lme4::lmer(val_loss ~ 1 + (1|initializer) + (1|seed), REML =
TRUE).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from initsens.analysis import variance_components
from initsens.analysis.variance import reml_components

FIXTURES = Path(__file__).parent / "fixtures" / "anova"


@pytest.mark.parametrize("design", ["balanced", "unbalanced"])
def test_variance_components_match_lme4(design):
    ref = pd.read_csv(FIXTURES / "r_varcomp.csv").query("design == @design")
    ref = ref.set_index(["model", "depth", "component"])
    ours = variance_components(pd.read_csv(FIXTURES / f"{design}.csv")).set_index(
        ["model", "depth", "component"]
    )
    assert set(ours.index) == set(ref.index)
    ours = ours.loc[ref.index]
    positive = ref["variance"] > 0
    np.testing.assert_allclose(ours["variance"][positive], ref["variance"][positive], rtol=1e-4)
    np.testing.assert_allclose(ours["reml_loglik"], ref["reml_loglik"], rtol=1e-8)
    assert (ours["variance"][~positive] == 0.0).all()  # lme4's singular fits: exactly zero here too


def test_boundary_gives_icc_exactly_zero_and_shares_match_lme4():
    """The ICC (share) of each component equals lme4's variance over lme4's total, to lme4's
    tolerance; the singular IWAE cell gives exactly 0.
    """
    ours = variance_components(pd.read_csv(FIXTURES / "unbalanced.csv")).set_index(
        ["model", "depth", "component"]
    )
    assert ours.loc[("IWAE", 1, "initializer"), "share"] == 0.0
    ref = pd.read_csv(FIXTURES / "r_varcomp.csv").query("design == 'unbalanced'")
    ref = ref.set_index(["model", "depth", "component"])["variance"]
    r_shares = ref / ref.groupby(level=["model", "depth"]).transform("sum")
    np.testing.assert_allclose(ours.loc[r_shares.index, "share"], r_shares, rtol=1e-4, atol=1e-8)


def test_one_way_random_effect_closed_form():
    """Balanced one-way design: REML = ANOVA estimators when positive, s2_a = (MSB - MSW) /
    n_per_group.
    """
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(6), 8)
    y = rng.normal(0, 1.0, 6)[groups] + rng.normal(0, 0.5, groups.size)
    variances, _ = reml_components(y, {"initializer": groups})
    means = np.array([y[groups == g].mean() for g in range(6)])
    msb = 8 * np.sum((means - y.mean()) ** 2) / 5
    msw = sum(np.sum((y[groups == g] - means[g]) ** 2) for g in range(6)) / (48 - 6)
    assert variances["residual"] == pytest.approx(msw, rel=1e-6)
    assert variances["initializer"] == pytest.approx((msb - msw) / 8, rel=1e-6)
