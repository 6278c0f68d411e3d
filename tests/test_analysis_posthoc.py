"""Post-hoc comparisons against R (TukeyHSD, rstatix::games_howell_test, multcompView letters),
descriptives against a second computation, and the probability of improvement against closed forms.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from initsens.analysis.descriptives import describe
from initsens.analysis.posthoc import improvement, letters, pairwise

FIXTURES = Path(__file__).parent / "fixtures" / "anova"


@pytest.mark.parametrize("design", ["balanced", "unbalanced"])
@pytest.mark.parametrize("method", ["tukey", "games_howell"])
def test_pairwise_matches_r(design, method):
    ref = pd.read_csv(FIXTURES / "r_posthoc.csv").query("design == @design and method == @method")
    ref = ref.set_index(["model", "depth", "group1", "group2"])
    ours = pairwise(pd.read_csv(FIXTURES / f"{design}.csv")).query("method == @method")
    ours = ours.set_index(["model", "depth", "group1", "group2"]).loc[ref.index]
    np.testing.assert_allclose(ours["mean_diff"], -ref["diff"], rtol=1e-6)
    np.testing.assert_allclose(ours["ci_low"], -ref["upr"], rtol=1e-5)
    np.testing.assert_allclose(ours["ci_high"], -ref["lwr"], rtol=1e-5)
    np.testing.assert_allclose(ours["p_adj"], ref["p_adj"], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("design", ["balanced", "unbalanced"])
def test_letters_group_like_multcompview(design):
    """Letter names differ by convention; which initializers share a letter must not."""
    data = pd.read_csv(FIXTURES / f"{design}.csv")
    ref = pd.read_csv(FIXTURES / "r_letters.csv").query("design == @design")
    tukey = pairwise(data).query("method == 'tukey'")
    for (model, depth), cell in data.groupby(["model", "depth"]):
        rows = tukey[(tukey.model == model) & (tukey.depth == depth)]
        sig = [(r.group1, r.group2) for r in rows.itertuples() if r.reject]
        ours = letters(cell.groupby("initializer")["val_loss"].mean(), sig)
        theirs = ref[(ref.model == model) & (ref.depth == depth)].set_index("initializer")[
            "letters"
        ]
        for a, b in combinations(sorted(theirs.index), 2):
            assert bool(set(ours[a]) & set(ours[b])) == bool(set(theirs[a]) & set(theirs[b])), (
                model,
                depth,
                a,
                b,
            )
        assert "a" in ours[cell.groupby("initializer")["val_loss"].mean().idxmin()]


def test_letters_chain():
    """A < B < C with only A-C different: A gets a, C gets b, B shares both."""
    out = letters(pd.Series({"A": 1.0, "B": 2.0, "C": 3.0}), [("A", "C")])
    assert out.to_dict() == {"A": "a", "B": "ab", "C": "b"}


def test_describe_against_numpy():
    data = pd.read_csv(FIXTURES / "unbalanced.csv")
    table = describe(data).set_index(["model", "depth", "initializer"])
    for (model, depth, init), cell in data.groupby(["model", "depth", "initializer"]):
        v = cell["val_loss"].to_numpy()
        row = table.loc[(model, depth, init)]
        assert row["n"] == v.size and row["mean"] == pytest.approx(v.mean())
        assert row["iqr"] == pytest.approx(np.percentile(v, 75) - np.percentile(v, 25))
        low, high = stats.t.interval(0.95, v.size - 1, loc=v.mean(), scale=stats.sem(v))
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def test_improvement_paired_and_unpaired():
    seeds = np.arange(8)
    a = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    b = np.array(
        [2.0, 1.0, 4.0, 5.0, 6.0, 6.0, 9.0, 9.5]
    )  # a lower on 6 seeds, tie on 1, higher on 1
    frame = pd.DataFrame(
        {
            "model": "M",
            "depth": 1,
            "initializer": ["a"] * 8 + ["b"] * 8,
            "seed": np.concatenate([seeds, seeds]),
            "val_loss": np.concatenate([a, b]),
        }
    )
    row = improvement(frame, n_boot=4000).iloc[0]
    assert row["paired"] and row["n_pairs"] == 8
    assert row["prob_better"] == pytest.approx((6 + 0.5) / 8)
    assert row["ci_low"] < row["prob_better"] < row["ci_high"] <= 1.0
    unpaired = improvement(frame.assign(seed=np.arange(16)), n_boot=500).iloc[0]
    u = stats.mannwhitneyu(b, a).statistic  # counts b > a, ties 1/2: P(a < b)
    assert not unpaired["paired"] and unpaired["prob_better"] == pytest.approx(u / 64)
    flipped = improvement(frame, n_boot=100, higher_is_better=True).iloc[0]
    assert flipped["prob_better"] == pytest.approx((1 + 0.5) / 8)


def test_unpaired_superiority_from_ranks_equals_the_pairwise_table():
    """P(A < B) + P(A = B)/2 from ranks equals counting every cross pair (the previous
    implementation), ties included, for one sample and for a stack of bootstrap resamples.
    """
    from initsens.analysis.posthoc import superiority

    rng = np.random.default_rng(4)
    a, b = rng.integers(0, 6, 23).astype(float), rng.integers(0, 6, 17).astype(float)  # many ties
    table = (a[:, None] < b[None, :]) + 0.5 * (a[:, None] == b[None, :])
    assert superiority(a, b) == pytest.approx(table.mean(), abs=1e-12)
    ia, ib = rng.integers(0, 23, (50, 23)), rng.integers(0, 17, (50, 17))
    expected = table[ia[:, :, None], ib[:, None, :]].mean(axis=(1, 2))
    np.testing.assert_allclose(superiority(a[ia], b[ib]), expected, atol=1e-12)
