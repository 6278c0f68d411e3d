"""Failure counts and Fisher's exact test (R fisher.test), Spearman vs ARI (R cor.test)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from initsens.analysis.association import spearman
from initsens.analysis.failures import failures

FIXTURES = Path(__file__).parent / "fixtures" / "anova"


def runs_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for r in counts.itertuples():
        for i in range(r.n_runs):
            failed = i < r.n_failed
            rows.append(
                {
                    "model": r.model,
                    "depth": r.depth,
                    "initializer": r.initializer,
                    "seed": i,
                    "status": "diverged" if failed and i % 2 else "ok",
                    "val_loss": np.nan if failed and not i % 2 else 1.0 + i,
                }
            )
    return pd.DataFrame(rows)


def test_failures_and_fisher_match_r():
    counts = pd.read_csv(FIXTURES / "failures.csv")
    ours = failures(runs_from_counts(counts))
    merged = ours.merge(counts, on=["model", "depth", "initializer"], suffixes=("", "_ref"))
    assert len(merged) == len(counts)
    assert (merged["n_failed"] == merged["n_failed_ref"]).all() and (merged["n_runs"] == 10).all()
    ref = pd.read_csv(FIXTURES / "r_fisher.csv").set_index(["model", "depth"])["p_value"]
    p = ours.groupby(["model", "depth"])["fisher_p"].first()
    np.testing.assert_allclose(p.loc[ref.index], ref, rtol=1e-6)


def test_nothing_failed_gives_nan_not_one():
    counts = pd.DataFrame(
        {"model": "M", "depth": 1, "initializer": ["a", "b"], "n_runs": 5, "n_failed": 0}
    )
    assert np.isnan(failures(runs_from_counts(counts))["fisher_p"]).all()


def test_spearman_matches_r():
    ref = pd.read_csv(FIXTURES / "r_spearman.csv").set_index("model")
    ours = spearman(pd.read_csv(FIXTURES / "ari.csv")).query("depth == 'all'").set_index("model")
    np.testing.assert_allclose(ours.loc[ref.index, "rho"], ref["rho"], rtol=1e-9)
    np.testing.assert_allclose(ours.loc[ref.index, "p_value"], ref["p_value"], rtol=1e-6)
    # Fisher-z interval with the Fieller-Hartley-Pearson variance 1.06 / (n - 3) (Fieller et al.
    # 1957), written out here
    n = ours.loc[ref.index, "n"].to_numpy(float)
    z = np.arctanh(ref["rho"].to_numpy())
    half = 1.959963984540054 * np.sqrt(1.06 / (n - 3))
    np.testing.assert_allclose(ours.loc[ref.index, "ci_low"], np.tanh(z - half), rtol=1e-9)
    np.testing.assert_allclose(ours.loc[ref.index, "ci_high"], np.tanh(z + half), rtol=1e-9)


def test_spearman_perfect_monotone():
    x = np.arange(10.0)
    frame = pd.DataFrame({"model": "M", "depth": 1, "val_loss": x, "ari": np.exp(-x)})
    assert spearman(frame).iloc[0]["rho"] == pytest.approx(-1.0)


def test_exact_rx2_equals_scipy_on_2x2_tables():
    from scipy import stats

    from initsens.analysis.failures import exact_rx2

    for table in ([[6, 2], [1, 4]], [[0, 10], [7, 3]], [[3, 3], [3, 3]], [[10, 0], [0, 10]]):
        t = np.array(table)
        assert exact_rx2(t[:, 0], t.sum(axis=1)) == pytest.approx(
            stats.fisher_exact(t).pvalue, rel=1e-9
        )


def test_large_cells_fall_back_to_chi_square_without_exhausting_memory():
    from scipy import stats

    from initsens.analysis.failures import exact_rx2, fisher_p

    failed, sizes = np.array([50, 40, 60, 45, 55]), np.array([1000] * 5)
    assert exact_rx2(failed, sizes) is None
    counts = pd.DataFrame({"n_failed": failed, "n_runs": sizes})
    table = np.column_stack([failed, sizes - failed])
    assert fisher_p(counts) == pytest.approx(stats.chi2_contingency(table).pvalue)
