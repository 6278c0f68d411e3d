"""The claims' decision rules on made-up tables whose right verdict is known: one supported, one contradicted
and one unresolved case per rule, plus the aggregation and the interaction statistic against statsmodels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm

from initsens.analysis import analyze
from initsens.analysis.claims import (
    CONTRADICTED,
    SUPPORTED,
    UNRESOLVED,
    aggregate,
    best_initializer_claim,
    claimed_sets,
    default_name,
    e1_uniform_clusters_worse,
    e2_loss_vs_clustering,
    evaluate,
    interaction_share,
    p1_most_sensitive,
    p4_normalization,
    verdicts,
)

INITS = ("default", "normal", "uniform", "xavier_normal", "xavier_uniform")
MODELS = ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")


def simulate(shift, noise=1.0, seeds=10, depths=(1,), norms=("zscore",), ari=None, fail=None, seed=0):
    """Runs of every model x initializer x depth x normalization x seed: val_nelbo = 100 + shift(model, init,
    depth, norm) + noise * N(0, 1); ari = ari(model, init, depth, norm, nelbo, rng) (default 0.5 + noise);
    fail(model, init, depth, norm, seed) -> True marks the run diverged."""
    rng = np.random.default_rng(seed)
    rows = []
    for model in MODELS:
        for depth in depths:
            for norm in norms:
                for init in INITS:
                    for s in range(seeds):
                        value = 100 + shift(model, init, depth, norm) + noise * rng.normal()
                        score = ari(model, init, depth, norm, value, rng) if ari else 0.5 + 0.05 * rng.normal()
                        failed = bool(fail and fail(model, init, depth, norm, s))
                        rows.append({"model": model, "initializer": init, "depth": depth, "normalization": norm,
                                     "seed": s, "run_id": f"{model}-{init}-{depth}-{norm}-{s}",
                                     "status": "diverged" if failed else "ok",
                                     "val_nelbo": np.nan if failed else value, "ari": np.nan if failed else score})
    return pd.DataFrame(rows)


def run_analysis(runs):
    return analyze(runs, "val_nelbo", n_boot=300, n_boot_icc=60)


def by_where(rows):
    return {r["where"]: r["verdict"] for r in rows}


def test_aggregation_rule():
    assert aggregate([SUPPORTED, SUPPORTED]) == SUPPORTED
    assert aggregate([SUPPORTED, UNRESOLVED]) == UNRESOLVED
    assert aggregate([SUPPORTED, CONTRADICTED, UNRESOLVED]) == CONTRADICTED
    assert aggregate([]) == UNRESOLVED


def test_p1_vanilla_most_sensitive():
    """Depth 1: VanillaVAE's initializer effect is huge, the others' small -> supported. Depth 2: IWAE's is
    huge -> contradicted. Depth 3: every model has the same effect -> unresolved."""
    effect = {1: {"VanillaVAE": 10.0}, 2: {"IWAE": 10.0}, 3: {}}

    def shift(model, init, depth, norm):
        size = effect[depth].get(model, 0.6 if depth != 3 else 2.0)
        return size * INITS.index(init)

    analysis = run_analysis(simulate(shift, depths=(1, 2, 3)))
    rows = p1_most_sensitive(analysis.tables["sensitivity"], analysis.draws, analysis.cell_keys)
    got = {(r["where"].split(",")[0], r["where"].split(", ")[-1]): r["verdict"] for r in rows}
    for index in ("omega_sq", "icc"):
        assert got[("depth 1", index)] == SUPPORTED
        assert got[("depth 2", index)] == CONTRADICTED
        assert got[("depth 3", index)] == UNRESOLVED
    depth1 = [r for r in rows if r["where"].startswith("depth 1")]
    assert all(r["estimate"] > 0 and r["ci_low"] > 0 for r in depth1)


@pytest.fixture(scope="module")
def best_sets():
    """Depth 1, claimed best per P2: uniform for VanillaVAE and InfoVAE, the Xaviers and default for IWAE and
    LogCoshVAE. VanillaVAE: uniform clearly lowest -> supported. InfoVAE: uniform clearly highest ->
    contradicted. IWAE: every initializer the same -> unresolved. LogCoshVAE: claimed ones clearly best, but
    xavier_uniform diverges in 8 of 10 runs -> contradicted by failures."""

    def shift(model, init, depth, norm):
        if model == "VanillaVAE":
            return 0.0 if init == "uniform" else 20.0
        if model == "InfoVAE":
            return 20.0 if init == "uniform" else 0.0
        if model == "LogCoshVAE":
            return 0.0 if init in ("default", "xavier_normal", "xavier_uniform") else 20.0
        return 0.0

    fail = lambda model, init, depth, norm, s: model == "LogCoshVAE" and init == "xavier_uniform" and s < 8  # noqa: E731
    return run_analysis(simulate(shift, fail=fail))


def test_p2_best_initializers_rule(best_sets):
    p2, _ = claimed_sets("default")
    got = by_where(best_initializer_claim(best_sets, "P2", p2, [1]))
    assert got == {"VanillaVAE, depth 1": SUPPORTED, "InfoVAE, depth 1": CONTRADICTED,
                   "IWAE, depth 1": UNRESOLVED, "LogCoshVAE, depth 1": CONTRADICTED}
    rows = {r["where"]: r for r in best_initializer_claim(best_sets, "P2", p2, [1])}
    assert "more failures, 8/10" in rows["LogCoshVAE, depth 1"]["detail"]
    vanilla = rows["VanillaVAE, depth 1"]
    assert vanilla["estimate"] == pytest.approx(20, abs=2) and vanilla["ci_low"] > 0
    assert rows["InfoVAE, depth 1"]["estimate"] < 0  # the contradicting pair: claimed uniform minus a better one


def test_p3_uses_the_protocols_default():
    """Depth 2: the Xaviers and kaiming_uniform clearly best for every model -> supported when "default" means
    kaiming_uniform (the original code); with nn.Linear's default absent from the runs the rule cannot use it."""

    def shift(model, init, depth, norm):  # "default" is renamed kaiming_uniform below
        return 0.0 if init in ("default", "xavier_normal", "xavier_uniform") else 15.0

    runs = simulate(shift, depths=(2,))
    runs["initializer"] = runs["initializer"].replace({"default": "kaiming_uniform"})
    analysis = run_analysis(runs)
    assert default_name(runs) == "kaiming_uniform"
    _, p3 = claimed_sets(default_name(runs))
    assert set(by_where(best_initializer_claim(analysis, "P3", p3, [2])).values()) == {SUPPORTED}
    _, wrong = claimed_sets("default")  # nn.Linear's default is not in these runs: kaiming_uniform stays unclaimed
    assert set(by_where(best_initializer_claim(analysis, "P3", wrong, [2])).values()) == {UNRESOLVED}


def test_p4_normalization_rule():
    """VanillaVAE: the same pattern under both normalizations, tiny noise -> supported. IWAE: the pattern
    reverses -> contradicted. InfoVAE and LogCoshVAE: no initializer effect, noise only -> unresolved."""

    def shift(model, init, depth, norm):
        rank = INITS.index(init)
        if model == "VanillaVAE":
            return 10.0 * rank * (1 if norm == "zscore" else 3)  # a scale change only
        if model == "IWAE":
            return 10.0 * (rank if norm == "zscore" else 4 - rank)
        return 0.0

    analysis = run_analysis(simulate(shift, norms=("zscore", "minmax"), noise=0.5))
    got = by_where(p4_normalization(analysis, n_boot=400))
    assert got == {"VanillaVAE, depth 1": SUPPORTED, "IWAE, depth 1": CONTRADICTED,
                   "InfoVAE, depth 1": UNRESOLVED, "LogCoshVAE, depth 1": UNRESOLVED}
    single = run_analysis(simulate(lambda *a: 0.0))
    assert by_where(p4_normalization(single)) == {"all cells": UNRESOLVED}


def test_interaction_share_matches_statsmodels_type_ii():
    rng = np.random.default_rng(3)
    init = np.repeat(np.array(list("abc")), 14)
    norm = np.tile(np.array(["z", "m"]), 21)
    y = rng.normal(size=42) + (init == "a") * 2 + (init == "b") * (norm == "m") * 1.5
    keep = np.ones(42, bool)
    keep[[0, 5, 9]] = False  # unbalanced
    y, init, norm = y[keep], init[keep], norm[keep]
    z = y.copy()
    for level in ("z", "m"):
        block = norm == level
        z[block] = (y[block] - y[block].mean()) / y[block].std()
    frame = pd.DataFrame({"y": z, "i": init, "n": norm})
    table = anova_lm(smf.ols("y ~ C(i) * C(n)", frame).fit(), typ=2)
    ss_int, ss_res = table.loc["C(i):C(n)", "sum_sq"], table.loc["Residual", "sum_sq"]
    got = interaction_share(y, init, norm)
    assert got["share"] == pytest.approx(ss_int / ((z - z.mean()) ** 2).sum(), rel=1e-9)
    assert got["partial"] == pytest.approx(ss_int / (ss_int + ss_res), rel=1e-9)
    assert got["p_value"] == pytest.approx(table.loc["C(i):C(n)", "PR(>F)"], rel=1e-9)
    with_ci = interaction_share(y, init, norm, n_boot=300, rng=np.random.default_rng(0))
    assert with_ci["ci_low"] <= got["share"] <= with_ci["ci_high"]


def test_e1_uniform_clustering_rule():
    """VanillaVAE: uniform's ARI 0.3 below every other -> supported. IWAE: uniform 0.2 above normal ->
    contradicted. InfoVAE: all equal -> unresolved. LogCoshVAE: uniform always diverges (scored 0) while
    others reach 0.5 -> supported: failures count against it."""

    def ari(model, init, depth, norm, value, rng):
        base = 0.5 + 0.03 * rng.normal()
        if model == "VanillaVAE" and init == "uniform":
            return base - 0.3
        if model == "IWAE":
            return base + (0.2 if init == "uniform" else 0.0) - (0.4 if init == "normal" else 0.0)
        return base

    fail = lambda model, init, depth, norm, s: model == "LogCoshVAE" and init == "uniform"  # noqa: E731
    runs = simulate(lambda *a: 0.0, ari=ari, fail=fail)
    got = by_where(e1_uniform_clusters_worse(runs, ["model", "depth"], n_boot=500))
    assert got == {"VanillaVAE, depth 1": SUPPORTED, "IWAE, depth 1": CONTRADICTED,
                   "InfoVAE, depth 1": UNRESOLVED, "LogCoshVAE, depth 1": SUPPORTED}


def test_e2_loss_vs_clustering_rule():
    """VanillaVAE: ARI unrelated to the loss -> supported. IWAE: ARI falls steeply with the loss ->
    contradicted. InfoVAE: a moderate association near the threshold with few runs -> unresolved."""

    def ari(model, init, depth, norm, value, rng):
        if model == "IWAE":
            return -value + 0.1 * rng.normal()
        if model == "InfoVAE":
            return -0.4 * value + rng.normal()
        return rng.normal()

    runs = simulate(lambda *a: 0.0, ari=ari, seeds=12)
    got = by_where(e2_loss_vs_clustering(runs, ["model", "depth"]))
    assert got["VanillaVAE, depth 1"] == SUPPORTED
    assert got["IWAE, depth 1"] == CONTRADICTED
    assert got["InfoVAE, depth 1"] == UNRESOLVED


def test_evaluate_gives_every_claim_a_verdict_and_numbers():
    def shift(model, init, depth, norm):
        return 5.0 * INITS.index(init) * (2 if model == "VanillaVAE" else 1)

    analysis = run_analysis(simulate(shift, depths=(1, 2), norms=("zscore", "minmax"), seeds=4))
    table = verdicts(evaluate(analysis, n_boot=200))
    assert list(table["claim"]) == ["P1", "P2", "P3", "P4", "E1", "E2"]
    assert set(table["verdict"]) <= {SUPPORTED, CONTRADICTED, UNRESOLVED}
    assert np.isfinite(table[["estimate", "ci_low", "ci_high"]].to_numpy(np.float64)).all()
    assert (table[["n_supported", "n_contradicted", "n_unresolved"]].sum(axis=1) > 0).all()


def test_cells_whose_runs_all_failed_are_judged_not_skipped():
    """LogCoshVAE: every run under zscore diverges, and normal/uniform diverge under minmax too (what the
    original code's log cosh did). P2 still gets a LogCoshVAE/zscore sub-result (unresolved: nothing separates
    initializers that all fail) and P4 is contradicted there: the failure rates change with the normalization."""

    def shift(model, init, depth, norm):
        return 0.0 if init in ("default", "xavier_normal", "xavier_uniform") else 10.0

    def fail(model, init, depth, norm, s):
        return model == "LogCoshVAE" and (norm == "zscore" or init in ("normal", "uniform"))

    analysis = run_analysis(simulate(shift, norms=("zscore", "minmax"), fail=fail))
    p2, _ = claimed_sets("default")
    got = by_where(best_initializer_claim(analysis, "P2", p2, [1]))
    assert got["LogCoshVAE, depth 1, normalization zscore"] == UNRESOLVED
    assert got["LogCoshVAE, depth 1, normalization minmax"] == SUPPORTED  # the others fail significantly more
    p4 = {r["where"]: r for r in p4_normalization(analysis, n_boot=100)}
    assert p4["LogCoshVAE, depth 1"]["verdict"] == CONTRADICTED
    assert "failure rates differ" in p4["LogCoshVAE, depth 1"]["detail"]
