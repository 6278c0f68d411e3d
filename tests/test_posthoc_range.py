"""The studentized range's tail (the judge's fast integral) and the trimmed Games-Howell, against
independent references: scipy's double integral, the k = 2 closed form (a t distribution) and
scipy's Yuen test.
"""

import numpy as np
import pytest
from scipy import stats

from initsens.analysis.posthoc import games_howell, studentized_range_quantile, studentized_range_sf


@pytest.mark.parametrize("k", [2, 3, 5, 8])
def test_the_range_tail_matches_scipy_double_integral(k):
    for df in (1.0, 1.7, 3.0, 6.5, 14.0, 40.0, 300.0):
        for q in np.linspace(0.3, 18.0, 12):
            reference = stats.studentized_range.sf(q, k, df)
            if reference < 1e-9:
                continue
            assert studentized_range_sf(q, k, df) == pytest.approx(reference, rel=1e-5), (q, k, df)


def test_the_range_of_two_is_a_t_distribution():
    # Q = √2 |T| for k = 2, at every df (scipy's integral itself drifts at df 1e5; the closed form
    # does not)
    for df in (1.0, 2.5, 9.0, 120.0, 1e5, np.inf):
        for q in (0.5, 2.0, 4.0, 7.0, 9.0):
            closed = (
                2 * stats.t.sf(q / np.sqrt(2), df)
                if np.isfinite(df)
                else 2 * stats.norm.sf(q / np.sqrt(2))
            )
            assert studentized_range_sf(q, 2, df) == pytest.approx(closed, rel=1e-6), (q, df)


def test_a_trimmed_pair_is_yuens_test():
    rng = np.random.default_rng(3)
    for _ in range(20):
        a, b = rng.lognormal(size=10), rng.normal(size=rng.integers(6, 14))
        (row,) = games_howell(["a", "b"], [a, b], 0.05, intervals=False, trim=0.2)
        reference = stats.ttest_ind(a, b, equal_var=False, trim=0.2)
        assert row["mean_diff"] == pytest.approx(stats.trim_mean(a, 0.2) - stats.trim_mean(b, 0.2))
        assert row["mean_diff"] / row["se"] == pytest.approx(reference.statistic, rel=1e-10)
        assert row["df"] == pytest.approx(reference.df, rel=1e-10)
        assert row["p_adj"] == pytest.approx(reference.pvalue, rel=1e-6)


def test_untrimmed_is_welch_with_the_studentized_range():
    rng = np.random.default_rng(4)
    groups = [rng.normal(i, 1 + i, 10) for i in range(4)]
    rows = games_howell(list("abcd"), groups, 0.05, intervals=False)
    for row in rows:
        a, b = groups["abcd".index(row["group1"])], groups["abcd".index(row["group2"])]
        va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
        df = (va + vb) ** 2 / (va**2 / 9 + vb**2 / 9)
        q = np.sqrt(2) * abs(a.mean() - b.mean()) / np.sqrt(va + vb)
        assert row["df"] == pytest.approx(df, rel=1e-12)
        assert row["p_adj"] == pytest.approx(stats.studentized_range.sf(q, 4, df), rel=1e-5)


def test_the_range_quantile_inverts_scipy():
    for level in (0.9, 0.95, 0.99, 0.999):
        for k in (2, 4, 7):
            for df in (1.3, 4.0, 25.0, 300.0):
                expected = stats.studentized_range.ppf(level, k, df)
                assert studentized_range_quantile(level, k, df) == pytest.approx(expected, rel=1e-5)
