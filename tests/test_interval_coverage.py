"""Coverage of the intervals `initsens analyze` reports, by simulation at the seed counts users run
(3, 5, 10), on normal and heavy-tailed data with equal and unequal spreads. The exact intervals hold
their level where their assumptions hold (within 2 points of 95%); where they do not, the printed
table (``pytest -s``) says by how much, and the report's Methods say so.

The ω² / η² interval's reference values from R are checked in test_analysis_anova.py's neighbour
below.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from conftest import REPO

from initsens.analysis.oneway import ncp_interval, variance_share_interval
from initsens.analysis.posthoc import clopper_pearson

TABLES = int(os.environ.get("INITSENS_COVERAGE_TABLES", "1000"))
EFFECTS = np.array(
    [-1.0, -0.5, 0.0, 0.5, 1.0]
)  # five initializers' true means (population variance 0.5)


def test_the_variance_share_interval_matches_r():
    """Against R's own noncentral F (pf with ncp, uniroot: tests/fixtures/anova/omega_ci.R)."""
    reference = pd.read_csv(REPO / "tests" / "fixtures" / "anova" / "r_omega_ci.csv")
    for row in reference.itertuples():
        low, high = ncp_interval(row.f, row.df1, row.df2)
        assert low == pytest.approx(row.ncp_low, rel=1e-6, abs=1e-9) and high == pytest.approx(
            row.ncp_high, rel=1e-6
        )
        share = variance_share_interval(row.f, row.df1, row.df2)
        assert share == pytest.approx((row.share_low, row.share_high), rel=1e-6, abs=1e-9)


def test_the_proportion_interval_matches_scipys_exact_binomial_interval():
    from scipy import stats

    for k, n in ((0, 3), (2, 3), (3, 3), (7, 10), (10, 10)):
        exact = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        assert clopper_pearson(k, n) == pytest.approx((exact.low, exact.high), abs=1e-12)
    assert clopper_pearson(2.0, 2)[0] == pytest.approx(0.025**0.5) and clopper_pearson(1.5, 2) < (
        0.2,
        1.0,
    )


def _share_coverage(seeds: int, shape: str, rng) -> float:
    spreads = np.array([0.25, 0.5, 1.0, 2.0, 4.0]) ** 0.5 if shape == "unequal" else np.ones(5)
    truth = EFFECTS.var() / (EFFECTS.var() + np.mean(spreads**2))
    hits = 0
    for _ in range(TABLES):
        noise = (
            rng.standard_t(3, (5, seeds)) / np.sqrt(3.0)
            if shape == "heavy"
            else rng.standard_normal((5, seeds))
        )
        y = EFFECTS[:, None] + spreads[:, None] * noise
        means, grand = y.mean(1), y.mean()
        ss_b, ss_w = seeds * np.sum((means - grand) ** 2), np.sum((y - means[:, None]) ** 2)
        f = (ss_b / 4) / (ss_w / (5 * seeds - 5))
        low, high = variance_share_interval(f, 4, 5 * seeds - 5)
        hits += low <= truth <= high
    return hits / TABLES


def _better_coverage(seeds: int, shape: str, rng) -> float:
    """P(A better than B on a seed) with A's mean 0.5 below B's: the Clopper-Pearson interval over
    seeds.
    """
    draw = (
        (lambda size: rng.standard_t(3, size))
        if shape == "heavy"
        else (lambda size: rng.standard_normal(size))
    )
    spread = 3.0 if shape == "unequal" else 1.0
    truth = np.mean(draw(400_000) * spread - 0.5 < draw(400_000))
    a, b = draw((TABLES, seeds)) * spread - 0.5, draw((TABLES, seeds))
    wins = (a < b).sum(1)
    bounds = np.array([clopper_pearson(float(w), seeds) for w in wins])
    return float(np.mean((bounds[:, 0] <= truth) & (truth <= bounds[:, 1])))


def _mean_coverage(seeds: int, shape: str, rng) -> float:
    """The descriptives' t interval of an initializer's mean (the table's ci_low/ci_high), through
    describe().
    """
    from initsens.analysis.descriptives import describe

    noise = (
        rng.standard_t(3, (TABLES, seeds)) / np.sqrt(3.0)
        if shape == "heavy"
        else rng.standard_normal((TABLES, seeds)) * (3.0 if shape == "unequal" else 1.0)
    )
    runs = pd.DataFrame(
        {
            "model": np.repeat(np.arange(TABLES), seeds).astype(str),
            "depth": 1,
            "initializer": "a",
            "val_loss": noise.ravel(),
        }
    )
    table = describe(runs, "val_loss")
    return float(((table["ci_low"] <= 0) & (0 <= table["ci_high"])).mean())


def _rho_coverage(seeds: int, shape: str, rng) -> float:
    """analyze's Spearman interval (Fisher z, Fieller-Hartley-Pearson variance) over a cell's runs
    (5 initializers x seeds), loss and ARI with population Spearman rho 0.5 (a normal copula;
    'heavy' and 'unequal' transform the margins monotonically, which leaves rho unchanged).
    """
    from initsens.analysis.association import rank_correlation

    r = 2 * np.sin(np.pi * 0.5 / 6)
    n, hits = 5 * seeds, 0
    for _ in range(TABLES):
        x = rng.standard_normal((n, 2)) @ np.linalg.cholesky([[1, r], [r, 1]]).T
        if shape != "normal":
            x = np.sinh(3 * x) if shape == "heavy" else np.exp(x)
        got = rank_correlation(pd.Series(x[:, 0]), pd.Series(x[:, 1]))
        hits += got["ci_low"] <= 0.5 <= got["ci_high"]
    return hits / TABLES


@pytest.mark.slow
def test_interval_coverage_at_the_seed_counts_users_run():
    rng = np.random.default_rng(30)
    rows = []
    for seeds in (3, 5, 10):
        for shape in ("normal", "heavy", "unequal"):
            rows.append(
                {
                    "seeds": seeds,
                    "data": shape,
                    "variance share (ω², η²)": _share_coverage(seeds, shape, rng),
                    "P(better), paired": _better_coverage(seeds, shape, rng),
                    "mean (t)": _mean_coverage(seeds, shape, rng),
                    "Spearman ρ": _rho_coverage(seeds, shape, rng),
                }
            )
    table = pd.DataFrame(rows)
    print("\n" + table.to_string(index=False))
    normal = table[table["data"] == "normal"]
    assert (
        abs(normal["variance share (ω², η²)"] - 0.95) <= 0.02
    ).all()  # exact where its assumptions hold
    assert (
        table["P(better), paired"] >= 0.95 - 0.02
    ).all()  # Clopper-Pearson: at least nominal everywhere
    assert (abs(normal["mean (t)"] - 0.95) <= 0.02).all()
    assert (
        abs(table["Spearman ρ"] - 0.95) <= 0.03
    ).all()  # ranks: the margins' shape does not matter


@pytest.mark.slow
def test_the_icc_interval_undercovers_as_the_report_says():
    """The ICC's percentile parametric-bootstrap interval: five initializers, seed and residual
    variance, 100 tables per seed count (about a minute). Measured 96% / 85% / 88% at 3 / 5 / 10
    seeds with 150 tables: below nominal, which the report's Methods say; this keeps that statement
    true (a change that restored 95%, or broke the interval further, fails here and the sentence
    must change with it).
    """
    from initsens.analysis.variance import variance_components

    rng = np.random.default_rng(5)
    truths = {"initializer": 1.0 / 2.5, "seed": 0.5 / 2.5, "residual": 1.0 / 2.5}
    coverage: dict = {}
    for seeds in (3, 5, 10):
        rows = []
        for table in range(100):
            a, b = rng.normal(0, 1.0, 5), rng.normal(0, 0.5**0.5, seeds)
            rows += [
                {
                    "model": f"m{table}",
                    "depth": 1,
                    "initializer": f"i{i}",
                    "seed": s,
                    "val_loss": a[i] + b[s] + rng.normal(),
                }
                for i in range(5)
                for s in range(seeds)
            ]
        table = variance_components(pd.DataFrame(rows), n_boot=200)
        for component, share in truths.items():
            rows_of = table[table["component"] == component]
            coverage[(seeds, component)] = float(
                ((rows_of["ci_low"] <= share) & (share <= rows_of["ci_high"])).mean()
            )
    print(f"\nvariance-share interval coverage (95% nominal): {coverage}")
    assert 0.9 <= coverage[(3, "initializer")] <= 1.0
    assert all(0.75 <= coverage[(n, "initializer")] <= 0.93 for n in (5, 10))
    assert all(
        coverage[(n, c)] >= 0.9 for n in (3, 5, 10) for c in ("seed", "residual")
    )  # 93-98% measured


@pytest.mark.slow
def test_games_howell_simultaneous_intervals_cover_every_pair(monkeypatch):
    """Games-Howell's simultaneous 95% intervals (all 10 pairs of 5 initializers at once) at 3, 5
    and 10 seeds: familywise coverage near nominal for normal data with equal or 16-fold unequal
    spreads (Welch's standard errors), and printed for heavy tails (measured with exact quantiles:
    93-96% in every case, 300 tables each). The studentized range's quantile is interpolated on a
    fine grid of degrees of freedom here (each exact one costs an integral: the exact run took 12
    minutes).
    """
    from initsens.analysis import posthoc

    grid = np.geomspace(1.5, 500, 400)
    exact = np.array([posthoc.studentized_range_quantile(0.95, 5, df) for df in grid])
    monkeypatch.setattr(
        posthoc,
        "studentized_range_quantile",
        lambda q, k, df: float(np.interp(np.log(df), np.log(grid), exact)),
    )
    games_howell = posthoc.games_howell
    rng = np.random.default_rng(31)
    names = [f"i{j}" for j in range(5)]
    coverage = {}
    for seeds in (3, 5, 10):
        for shape in ("normal", "heavy", "unequal"):
            spreads = (
                np.array([0.25, 0.5, 1.0, 2.0, 4.0]) ** 0.5 if shape == "unequal" else np.ones(5)
            )
            hits = 0
            for _ in range(300):
                noise = (
                    rng.standard_t(3, (5, seeds)) / np.sqrt(3.0)
                    if shape == "heavy"
                    else rng.standard_normal((5, seeds))
                )
                groups = list(EFFECTS[:, None] + spreads[:, None] * noise)
                rows = games_howell(names, groups, 0.05)
                hits += all(
                    r["ci_low"]
                    <= EFFECTS[names.index(r["group1"])] - EFFECTS[names.index(r["group2"])]
                    <= r["ci_high"]
                    for r in rows
                )
            coverage[(seeds, shape)] = hits / 300
    print("\nGames-Howell familywise coverage (95% nominal):", coverage)
    assert all(coverage[(n, s)] >= 0.95 - 0.04 for n in (5, 10) for s in ("normal", "unequal"))
