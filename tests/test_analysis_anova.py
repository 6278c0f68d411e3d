"""One-way and factorial ANOVA against R (car::Anova, aov, oneway.test, kruskal.test, leveneTest).

Reference values come from tests/fixtures/anova/reference.R run on balanced.csv and unbalanced.csv
(R 4.2.2, car 3.1-1, lme4 1.1-31; see r_versions.csv). The tests only read the committed outputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from initsens.analysis import factorial_anova, oneway
from initsens.errors import InitsensError

FIXTURES = Path(__file__).parent / "fixtures" / "anova"
DESIGNS = ("balanced", "unbalanced")


def table(design: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURES / f"{design}.csv")


@pytest.mark.parametrize("design", DESIGNS)
def test_oneway_matches_r(design):
    r = (
        pd.read_csv(FIXTURES / "r_oneway.csv")
        .query("design == @design")
        .set_index(["model", "depth"])
    )
    ours = oneway(table(design), n_boot=200).set_index(["model", "depth"])
    assert set(ours.index) == set(r.index)
    pairs = {
        "ss_between": "ss_between",
        "ss_within": "ss_within",
        "df_between": "df_between",
        "df_within": "df_within",
        "f": "f",
        "p_value": "p_value",
        "welch_f": "welch_f",
        "welch_df1": "welch_df1",
        "welch_df2": "welch_df2",
        "welch_p": "welch_p",
        "kruskal_h": "kruskal_h",
        "kruskal_p": "kruskal_p",
        "bf_f": "bf_f",
        "bf_p": "bf_p",
    }
    for ours_col, r_col in pairs.items():
        np.testing.assert_allclose(
            ours.loc[r.index, ours_col], r[r_col], rtol=1e-6, err_msg=ours_col
        )


@pytest.mark.parametrize("design", DESIGNS)
@pytest.mark.parametrize("typ", [2, 3])
def test_factorial_anova_matches_car(design, typ):
    r = pd.read_csv(FIXTURES / "r_factorial.csv").query("design == @design and typ == @typ")
    r = r[r["term"] != "(Intercept)"].set_index("term")
    ours = factorial_anova(table(design), types=(typ,)).set_index("term")
    assert set(ours.index) == set(r.index)
    for column in ("sum_sq", "df", "f", "p_value"):
        np.testing.assert_allclose(ours.loc[r.index, column], r[column], rtol=1e-6, err_msg=column)
    expected = r["sum_sq"] / (
        r["sum_sq"] + r.loc["Residuals", "sum_sq"]
    )  # from car's sums of squares
    np.testing.assert_allclose(
        ours.loc[r.index, "partial_eta_sq"].drop("Residuals"), expected.drop("Residuals"), rtol=1e-6
    )


def test_types_differ_only_when_unbalanced():
    balanced = factorial_anova(table("balanced"))
    two, three = (balanced[balanced.typ == t].set_index("term")["sum_sq"] for t in (2, 3))
    np.testing.assert_allclose(two, three.loc[two.index], rtol=1e-9)
    unbalanced = factorial_anova(table("unbalanced"))
    two, three = (unbalanced[unbalanced.typ == t].set_index("term")["sum_sq"] for t in (2, 3))
    assert not np.allclose(two["initializer"], three["initializer"], rtol=1e-6)


def test_oneway_effect_sizes_and_second_method():
    rng = np.random.default_rng(3)
    groups = [rng.normal(mu, 1.0, n) for mu, n in ((0.0, 12), (0.8, 9), (1.5, 15))]
    frame = pd.DataFrame(
        {
            "model": "M",
            "depth": 1,
            "initializer": np.repeat(["a", "b", "c"], [12, 9, 15]),
            "val_loss": np.concatenate(groups),
        }
    )
    row = oneway(frame).iloc[0]
    f, p = stats.f_oneway(*groups)
    assert row["f"] == pytest.approx(f, rel=1e-10) and row["p_value"] == pytest.approx(p, rel=1e-8)
    ss_t = np.sum((np.concatenate(groups) - np.concatenate(groups).mean()) ** 2)
    assert row["eta_sq"] == pytest.approx(row["ss_between"] / ss_t, rel=1e-10)
    ms_w = row["ss_within"] / 33
    assert row["omega_sq"] == pytest.approx(
        (row["ss_between"] - 2 * ms_w) / (ss_t + ms_w), rel=1e-10
    )
    assert row["omega_sq_ci_low"] < row["omega_sq"] < row["omega_sq_ci_high"]


def test_sums_of_squares_survive_a_huge_offset():
    """What NIST's SmLs07-09 probe: 1e12 + small values; a naive sum of squares loses every digit.

    The values lie on a 2^-10 grid, so 1e12 + value is exactly representable (float64 spacing at
    1e12 is 2^-13) and any difference comes from the algorithm, not from the data's storage."""
    rng = np.random.default_rng(4)
    values = np.round(rng.normal(0.0, 0.1, 63) * 1024) / 1024
    assert np.array_equal((values + 1e12) - 1e12, values)
    frame = pd.DataFrame(
        {"model": "M", "depth": 1, "initializer": np.repeat(list("abc"), 21), "val_loss": values}
    )
    base = oneway(frame, n_boot=50).iloc[0]
    shifted = oneway(frame.assign(val_loss=values + 1e12), n_boot=50).iloc[0]
    for column in ("ss_between", "ss_within", "f"):
        assert shifted[column] == pytest.approx(base[column], rel=1e-6), column


def test_single_level_factors_are_left_out():
    one_depth = table("balanced").query("depth == 1")
    terms = set(factorial_anova(one_depth, types=(2,))["term"])
    assert terms == {"model", "initializer", "model:initializer", "Residuals"}
    with pytest.raises(InitsensError, match="needs a factor with at least two levels"):
        factorial_anova(one_depth.query("model == 'IWAE' and initializer == 'normal'"))


def test_missing_columns_are_named():
    with pytest.raises(InitsensError, match="results table has no column\\(s\\) initializer"):
        oneway(pd.DataFrame({"model": ["a"], "depth": [1], "val_loss": [1.0]}))
