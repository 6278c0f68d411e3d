"""The claims' decision rules on made-up tables whose right verdict is known: one supported, one
contradicted, one unresolved and one not testable case per rule where the rule has one, the
aggregation, the scopes, and the statistics against independent computations (statsmodels, closed
forms).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from scipy.stats import mstats
from statsmodels.stats.anova import anova_lm

from initsens.reproduction.claims import (
    CLAIMS,
    CONTRADICTED,
    NOT_TESTABLE,
    PAPER,
    POSTER,
    RULES_HISTORY,
    SUPPORTED,
    UNRESOLVED,
    aggregate,
    claimed_sets,
    default_name,
    evaluate,
    shown_verdict,
    verdicts,
)
from initsens.reproduction.claims.base import ari_signal
from initsens.reproduction.claims.best import BY_CENTRE, TRIM, best_initializer_claim
from initsens.reproduction.claims.clustering import (
    between_initializers,
    e1_uniform_clusters_worse,
    e2_loss_vs_clustering,
    fisher_z_interval,
    within_initializers,
)
from initsens.reproduction.claims.normalization import (
    p4_normalization,
    rank_interaction_p,
    rank_shifts,
)
from initsens.reproduction.claims.sensitivity import omega_difference, p1_most_sensitive

INITS = ("default", "normal", "uniform", "xavier_normal", "xavier_uniform")
MODELS = ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")
KEYS = ["model", "depth"]


def simulate(
    shift,
    noise=1.0,
    seeds=10,
    depths=(1,),
    norms=("zscore",),
    ari=None,
    fail=None,
    seed=0,
    models=MODELS,
):
    """Runs of every model x initializer x depth x normalization x seed: val_loss = 100 +
    shift(model, init, depth, norm) + noise * N(0, 1) (val_nelbo the same); ari = ari(model, init,
    depth, norm, loss, rng) (default 0.5 + noise); fail(model, init, depth, norm, seed) -> True
    marks the run diverged.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for model in models:
        for depth in depths:
            for norm in norms:
                for init in INITS:
                    for s in range(seeds):
                        value = 100 + shift(model, init, depth, norm) + noise * rng.normal()
                        score = (
                            ari(model, init, depth, norm, value, rng)
                            if ari
                            else 0.5 + 0.05 * rng.normal()
                        )
                        failed = bool(fail and fail(model, init, depth, norm, s))
                        rows.append(
                            {
                                "model": model,
                                "initializer": init,
                                "depth": depth,
                                "normalization": norm,
                                "seed": s,
                                "run_id": f"{model}-{init}-{depth}-{norm}-{s}",
                                "status": "diverged" if failed else "ok",
                                "val_loss": np.nan if failed else value,
                                "val_nelbo": np.nan if failed else value,
                                "ari": np.nan if failed else score,
                            }
                        )
    return pd.DataFrame(rows)


def best_sets(runs, claim, claimed, depths, keys=KEYS):
    """P2/P3's sub-results on val_loss over the poster's scope."""
    return best_initializer_claim(
        runs,
        claim,
        claimed_for=claimed,
        depths=depths,
        cell_keys=keys,
        scope=POSTER,
        metric="val_loss",
    )


def by_where(rows):
    return {r["where"]: r["verdict"] for r in rows}


def test_aggregation_rule_leaves_out_what_cannot_be_tested():
    assert aggregate([SUPPORTED, SUPPORTED]) == SUPPORTED
    assert aggregate([SUPPORTED, UNRESOLVED]) == UNRESOLVED
    assert aggregate([SUPPORTED, CONTRADICTED, UNRESOLVED]) == CONTRADICTED
    assert aggregate([SUPPORTED, NOT_TESTABLE]) == SUPPORTED
    assert aggregate([NOT_TESTABLE, NOT_TESTABLE]) == NOT_TESTABLE
    assert aggregate([]) == NOT_TESTABLE


def test_scopes_follow_the_sources():
    assert POSTER.contains({"model": "LogCoshVAE", "depth": 2, "normalization": "minmax"})
    assert PAPER.contains({"model": "IWAE", "depth": 1, "normalization": "zscore"})
    assert not PAPER.contains({"model": "IWAE", "depth": 2, "normalization": "zscore"})
    assert not PAPER.contains({"model": "InfoVAE", "depth": 1})
    assert not PAPER.contains({"model": "VanillaVAE", "depth": 1, "normalization": "minmax"})
    assert {k: c.source for k, c in CLAIMS.items()} == {
        "P1": "poster",
        "P2": "poster",
        "P3": "poster",
        "P4": "poster",
        "E1": "paper",
        "E2": "paper",
    }


def test_omega_difference_against_statsmodels_and_a_by_hand_jackknife():
    """ω² of ranks from statsmodels' one-way ANOVA on scipy's ranks of each model's runs (a failed
    run at +inf, tied last); the jackknife SE recomputed by dropping each seed by hand and ranking
    again.
    """
    from scipy.stats import rankdata

    runs = simulate(
        lambda m, i, d, n: (3.0 if m == "VanillaVAE" else 1.0) * INITS.index(i),
        seeds=6,
        fail=lambda m, i, d, n, s: m == "IWAE" and i == "uniform" and s < 3,
    )
    a, b = (runs[runs["model"] == m] for m in ("VanillaVAE", "IWAE"))

    def omega(cell):
        ranked = cell.assign(r=rankdata(cell["val_loss"].fillna(np.inf)))
        table = anova_lm(smf.ols("r ~ C(initializer)", ranked).fit())
        ss_b, ss_w = table["sum_sq"]
        df_b, df_w = table["df"]
        return (ss_b - df_b * ss_w / df_w) / (ss_b + ss_w + ss_w / df_w)

    est, se, low, high = omega_difference(a, b, "val_loss", 0.95)
    assert est == pytest.approx(omega(a) - omega(b), rel=1e-9)
    leave = np.array([omega(a[a.seed != s]) - omega(b[b.seed != s]) for s in range(6)])
    assert se == pytest.approx(np.sqrt(5 / 6 * ((leave - leave.mean()) ** 2).sum()), rel=1e-9)
    assert (high - est) == pytest.approx(2.5705818366 * se, rel=1e-8)  # t(0.975, 5)


def test_p1_vanilla_most_sensitive():
    """Depth 1: VanillaVAE's initializer effect is huge, the others' small -> supported. Depth 2:
    IWAE's is huge -> contradicted. Depth 3: every model has the same effect -> unresolved.
    """
    effect = {1: {"VanillaVAE": 10.0}, 2: {"IWAE": 10.0}, 3: {}}

    def shift(model, init, depth, norm):
        return effect[depth].get(model, 0.6 if depth != 3 else 2.0) * INITS.index(init)

    rows = p1_most_sensitive(simulate(shift, depths=(1, 2, 3)), "val_loss", KEYS, POSTER)
    assert by_where(rows) == {"depth 1": SUPPORTED, "depth 2": CONTRADICTED, "depth 3": UNRESOLVED}
    depth1 = next(r for r in rows if r["where"] == "depth 1")
    assert depth1["estimate"] > 0 and depth1["ci_low"] > 0
    assert "IWAE" in next(r for r in rows if r["where"] == "depth 2")["detail"].split("level")[-1]
    assert [r["level"] for r in rows] == pytest.approx(
        [0.05 / (3 * 3)] * 3
    )  # m = 3 depths, k = 3 rivals


def test_p1_is_not_testable_without_the_sources_models():
    """A rung that trained only VanillaVAE and IWAE cannot say which of the four models is the most
    sensitive; nor can a group where a rival's runs all failed (its sensitivity cannot be measured):
    never dropped silently.
    """
    two = simulate(lambda m, i, d, n: INITS.index(i), models=("VanillaVAE", "IWAE"))
    rows = p1_most_sensitive(two, "val_loss", KEYS, POSTER)
    assert (
        by_where(rows) == {"depth 1": NOT_TESTABLE}
        and "InfoVAE, LogCoshVAE were not trained" in rows[0]["detail"]
    )
    diverged = simulate(
        lambda m, i, d, n: (10.0 if m == "VanillaVAE" else 0.5) * INITS.index(i),
        fail=lambda m, i, d, n, s: m == "LogCoshVAE",
    )
    row = p1_most_sensitive(diverged, "val_loss", KEYS, POSTER)[0]
    assert (
        row["verdict"] == NOT_TESTABLE
        and "LogCoshVAE cannot be measured (all 50 runs failed)" in row["detail"]
    )


def test_p1_counts_an_initializers_failures_as_sensitivity():
    """LogCoshVAE: no initializer effect on the loss of finished runs, but uniform and normal
    diverge in every run (what the original log cosh did on min-max data); VanillaVAE: a clear but
    moderate effect. Ranked with failures last, LogCoshVAE's initializer decides more of its outcome
    than VanillaVAE's: contradicted (v2, which left the failures out, called LogCoshVAE the less
    sensitive one).
    """
    runs = simulate(
        lambda m, i, d, n: (0.3 if m == "VanillaVAE" else 0.0) * INITS.index(i),
        fail=lambda m, i, d, n, s: m == "LogCoshVAE" and i in ("uniform", "normal"),
    )
    row = p1_most_sensitive(runs, "val_loss", KEYS, POSTER)[0]
    assert row["verdict"] == CONTRADICTED and row["rival"] == "LogCoshVAE" and row["estimate"] < 0
    assert "failed runs (ranked last): LogCoshVAE 20" in row["detail"]


@pytest.fixture(scope="module")
def best_sets_runs():
    """Depth 1, claimed best per P2: uniform for VanillaVAE and InfoVAE, the Xaviers and default for
    IWAE and LogCoshVAE. VanillaVAE: uniform clearly lowest -> supported. InfoVAE: uniform clearly
    highest -> contradicted. IWAE: every initializer the same -> unresolved. LogCoshVAE: claimed
    ones clearly best, but xavier_uniform diverges in 8 of 10 runs -> contradicted by failures.
    """

    def shift(model, init, depth, norm):
        if model == "VanillaVAE":
            return 0.0 if init == "uniform" else 20.0
        if model == "InfoVAE":
            return 20.0 if init == "uniform" else 0.0
        if model == "LogCoshVAE":
            return 0.0 if init in ("default", "xavier_normal", "xavier_uniform") else 20.0
        return 0.0

    def fail(model, init, depth, norm, s):
        return model == "LogCoshVAE" and init == "xavier_uniform" and s < 8

    return simulate(shift, fail=fail)


def test_p2_best_initializers_rule(best_sets_runs):
    p2, _ = claimed_sets("default")
    rows = {r["where"]: r for r in best_sets(best_sets_runs, "P2", p2, [1])}
    assert {w: r["verdict"] for w, r in rows.items()} == {
        "VanillaVAE, depth 1": SUPPORTED,
        "InfoVAE, depth 1": CONTRADICTED,
        "IWAE, depth 1": UNRESOLVED,
        "LogCoshVAE, depth 1": CONTRADICTED,
    }
    assert "more failures, 8/10" in rows["LogCoshVAE, depth 1"]["detail"]
    vanilla = rows["VanillaVAE, depth 1"]
    assert vanilla["estimate"] == pytest.approx(20, abs=2) and vanilla["ci_low"] > 0
    assert (
        rows["InfoVAE, depth 1"]["estimate"] < 0
    )  # Δ: the best other's mean below claimed uniform's
    assert rows["InfoVAE, depth 1"]["level"] == pytest.approx(0.05 / 4)


def test_best_set_uses_games_howell_when_spreads_differ():
    """A claimed initializer 3 above a rival whose runs scatter 60 times more widely: Tukey's pooled
    variance would call the claimed one worse (p ~ 0.001); Games-Howell, with each group's own
    variance, does not.
    """
    rng = np.random.default_rng(4)
    values = {
        "uniform": 103 + 0.05 * rng.standard_normal(10),
        "normal": 100 + 3.0 * rng.standard_normal(10),
    }
    values.update(
        {
            i: 120 + 0.05 * rng.standard_normal(10)
            for i in ("default", "xavier_normal", "xavier_uniform")
        }
    )
    runs = pd.DataFrame(
        [
            {
                "model": "VanillaVAE",
                "depth": 1,
                "initializer": i,
                "seed": s,
                "status": "ok",
                "val_loss": v,
            }
            for i, vs in values.items()
            for s, v in enumerate(vs)
        ]
    )
    from scipy import stats

    tukey = stats.tukey_hsd(*[values[i] for i in sorted(values)]).pvalue
    names = sorted(values)
    assert (
        tukey[names.index("uniform"), names.index("normal")] < 0.05
    )  # what a Tukey rule would have said
    row = best_sets(runs, "P2", {"VanillaVAE": {"uniform"}}, [1])[0]
    assert (
        row["verdict"] == UNRESOLVED
        and "not separated from the claimed set: normal" in row["detail"]
    )


def test_p3_uses_the_protocols_default():
    """Depth 2: the Xaviers and kaiming_uniform clearly best for every model -> supported when
    "default" means kaiming_uniform (the original code); with nn.Linear's default absent from the
    runs the rule cannot use it.
    """

    def shift(model, init, depth, norm):  # "default" is renamed kaiming_uniform below
        return 0.0 if init in ("default", "xavier_normal", "xavier_uniform") else 15.0

    runs = simulate(shift, depths=(2,))
    runs["initializer"] = runs["initializer"].replace({"default": "kaiming_uniform"})
    assert default_name(runs) == "kaiming_uniform"
    _, p3 = claimed_sets(default_name(runs))
    assert set(by_where(best_sets(runs, "P3", p3, [2])).values()) == {SUPPORTED}
    _, wrong = claimed_sets(
        "default"
    )  # nn.Linear's default is not in these runs: kaiming_uniform stays unclaimed
    assert set(by_where(best_sets(runs, "P3", wrong, [2])).values()) == {UNRESOLVED}


def test_p4_normalization_rule():
    """VanillaVAE: the same order under both normalizations, on another scale -> supported. IWAE:
    the order reverses -> contradicted. InfoVAE and LogCoshVAE: no initializer effect, noise only ->
    unresolved. One normalization -> not testable.
    """

    def shift(model, init, depth, norm):
        rank = INITS.index(init)
        if model == "VanillaVAE":
            return 10.0 * rank * (1 if norm == "zscore" else 3)  # a scale change only
        if model == "IWAE":
            return 10.0 * (rank if norm == "zscore" else 4 - rank)
        return 0.0

    runs = simulate(shift, norms=("zscore", "minmax"), noise=0.5)
    rows = {
        r["where"]: r
        for r in p4_normalization(runs, "val_loss", ["model", "depth", "normalization"], POSTER)
    }
    assert {w: r["verdict"] for w, r in rows.items()} == {
        "VanillaVAE, depth 1": SUPPORTED,
        "IWAE, depth 1": CONTRADICTED,
        "InfoVAE, depth 1": UNRESOLVED,
        "LogCoshVAE, depth 1": UNRESOLVED,
    }
    iwae = rows[
        "IWAE, depth 1"
    ]  # default ranks 5th under minmax and 1st under zscore: a shift of 4 ranks
    assert abs(iwae["estimate"]) == pytest.approx(4.0) and iwae["p_value"] == pytest.approx(
        2 / 1024
    )
    assert rows["VanillaVAE, depth 1"]["estimate"] == 0.0
    assert by_where(p4_normalization(simulate(lambda *a: 0.0), "val_loss", KEYS, POSTER)) == {
        "all cells": NOT_TESTABLE
    }


def test_rank_interaction_against_brute_force_and_ranks_by_seed():
    """The sign-flip p-value recomputed over all 2^6 swaps with itertools; ranks within seed with
    failures last.
    """
    from itertools import product

    rng = np.random.default_rng(2)
    d = rng.integers(-2, 3, size=(6, 4)).astype(float)
    observed = np.sum(d.sum(0) ** 2)
    brute = np.mean(
        [
            np.sum((np.array(signs)[:, None] * d).sum(0) ** 2) >= observed
            for signs in product((-1, 1), repeat=6)
        ]
    )
    assert rank_interaction_p(d) == pytest.approx(brute)
    cell = pd.DataFrame(
        {
            "seed": [0, 0, 0, 0, 0, 0],
            "initializer": list("abcabc"),
            "normalization": ["z", "z", "z", "m", "m", "m"],
            "val_loss": [3.0, 1.0, 2.0, 1.0, 5.0, 9.0],
            "failed": [False, False, False, False, False, True],
        }
    )
    assert rank_shifts(cell, "val_loss", "m", "z").iloc[0].tolist() == [1 - 3, 2 - 1, 3 - 2]


def test_ari_signal_threshold():
    """Signal: some initializer's mean ARI has a one-sided 95% lower bound above 0.1."""

    def rows(means):
        return pd.DataFrame(
            [
                {"initializer": i, "seed": s, "status": "ok", "ari": m + 0.01 * ((s % 3) - 1)}
                for i, m in means.items()
                for s in range(10)
            ]
        )

    assert ari_signal(rows({"a": 0.0, "b": 0.003}))[0] is False  # chance everywhere
    assert ari_signal(rows({"a": 0.0, "b": 0.09}))[0] is False  # above chance, below the threshold
    assert ari_signal(rows({"a": 0.0, "b": 0.5}))[0] is True


def test_e1_uniform_clustering_rule():
    """VanillaVAE: uniform's ARI 0.3 below every other -> supported. IWAE: uniform 0.2 above normal
    -> contradicted. InfoVAE: all equal -> unresolved. LogCoshVAE: uniform always diverges (scored
    0) while others reach 0.5 -> supported: failures count against it. Depth 2 and InfoVAE lie
    beyond the paper's scope.
    """

    def ari(model, init, depth, norm, value, rng):
        base = 0.5 + 0.03 * rng.normal()
        if model == "VanillaVAE" and init == "uniform":
            return base - 0.3
        if model == "IWAE":
            return base + (0.2 if init == "uniform" else 0.0) - (0.4 if init == "normal" else 0.0)
        return base

    fail = lambda model, init, depth, norm, s: model == ("LogCoshVAE") and init == ("uniform")  # noqa: E731
    rows = e1_uniform_clusters_worse(simulate(lambda *a: 0.0, ari=ari, fail=fail), KEYS, PAPER)
    assert by_where(rows) == {
        "VanillaVAE, depth 1": SUPPORTED,
        "IWAE, depth 1": CONTRADICTED,
        "InfoVAE, depth 1": UNRESOLVED,
        "LogCoshVAE, depth 1": SUPPORTED,
    }
    assert {r["where"]: r["scope"] for r in rows}["InfoVAE, depth 1"] == "extrapolation"
    iwae = next(r for r in rows if r["where"] == "IWAE, depth 1")
    assert iwae["p_value"] == pytest.approx(1 / 1024) and iwae["level"] == pytest.approx(
        0.05 / (2 * 4)
    )


def test_e1_says_when_a_level_is_out_of_reach_and_when_clustering_is_at_chance():
    """Uniform 0.1 above every other initializer on seeds 0-5 and tied on seeds 6-9: 6 nonzero
    differences, so the smallest one-sided sign-flip p is 1/64 = 0.0156, above the level 0.05 / 4 a
    contradiction needs: the sub-result stays unresolved and says the level is unreachable. Every
    ARI at chance -> not testable.
    """
    runs = simulate(lambda *a: 0.0, ari=lambda m, i, d, n, v, rng: 0.6, models=("VanillaVAE",))
    runs.loc[(runs["seed"] < 6) & (runs["initializer"] == "uniform"), "ari"] = 0.7
    row = e1_uniform_clusters_worse(runs, KEYS, PAPER)[0]
    assert row["verdict"] == UNRESOLVED and row["p_value"] == pytest.approx(1 / 64)
    assert (
        "smallest p is 0.0156" in row["detail"] and "unreachable: needs >= 7 seeds" in row["detail"]
    )
    chance = simulate(
        lambda *a: 0.0, ari=lambda *a: a[-1].normal() * 0.01, models=("VanillaVAE", "IWAE")
    )
    assert set(by_where(e1_uniform_clusters_worse(chance, KEYS, PAPER)).values()) == {NOT_TESTABLE}
    assert set(by_where(e2_loss_vs_clustering(chance, KEYS, PAPER, "val_loss")).values()) == {
        NOT_TESTABLE
    }


def test_e2_loss_vs_clustering_rule():
    """VanillaVAE: ARI unrelated to the loss -> supported. IWAE: ARI falls steeply with the loss ->
    contradicted. InfoVAE: a moderate association near the threshold with few runs -> unresolved."""

    def ari(model, init, depth, norm, value, rng):
        if model == "IWAE":
            return 0.6 - 0.1 * (value - 100) + 0.01 * rng.normal()
        if model == "InfoVAE":
            return 0.5 - 0.04 * (value - 100) + 0.1 * rng.normal()
        return 0.5 + 0.1 * rng.normal()

    got = by_where(
        e2_loss_vs_clustering(simulate(lambda *a: 0.0, ari=ari, seeds=12), KEYS, POSTER, "val_loss")
    )
    assert got["VanillaVAE, depth 1"] == SUPPORTED
    assert got["IWAE, depth 1"] == CONTRADICTED
    assert got["InfoVAE, depth 1"] == UNRESOLVED


def test_evaluate_gives_every_claim_a_verdict_numbers_and_a_scope():
    def shift(model, init, depth, norm):
        return 5.0 * INITS.index(init) * (2 if model == "VanillaVAE" else 1)

    evidence = evaluate(simulate(shift, depths=(1, 2), norms=("zscore", "minmax"), seeds=4))
    table = verdicts(evidence)
    assert list(table["claim"]) == ["P1", "P2", "P3", "P4", "E1", "E2"]
    assert set(table["verdict"]) <= {SUPPORTED, CONTRADICTED, UNRESOLVED}
    assert np.isfinite(table[["estimate", "ci_low", "ci_high"]].to_numpy(np.float64)).all()
    assert set(evidence["scope"]) == {"source", "extrapolation"}
    assert set(evidence.loc[evidence["scope"] == "extrapolation", "claim"]) == {"E1", "E2"}
    assert set(evidence.loc[evidence["claim"].isin(["P1", "P2", "P3", "P4"]), "metric"]) == {
        "val_loss"
    }
    nelbo = evaluate(simulate(shift, seeds=4), metric="val_nelbo", claims=("P2", "E2"))
    assert set(nelbo["claim"]) == {"P2", "E2"} and set(nelbo["metric"]) == {"val_nelbo"}


def test_cells_whose_runs_all_failed_are_not_testable_for_every_claim():
    """LogCoshVAE: every run under zscore diverges, and normal/uniform diverge under minmax too
    (what the original code's log cosh did). P2's LogCoshVAE/zscore sub-result is not testable
    (nothing separates initializers that all fail), and so is P4's for LogCoshVAE (v2 ranked the
    all-failed cell as a five-way tie and called P4 contradicted there), P1's for the group holding
    it (LogCoshVAE cannot be measured), and E1/E2's (every ARI scored 0: at chance). Under minmax
    the failure rates still speak: P2 supported there.
    """

    def shift(model, init, depth, norm):
        return 0.0 if init in ("default", "xavier_normal", "xavier_uniform") else 10.0

    def fail(model, init, depth, norm, s):
        return model == "LogCoshVAE" and (norm == "zscore" or init in ("normal", "uniform"))

    runs = simulate(shift, norms=("zscore", "minmax"), fail=fail)
    keys = ["model", "depth", "normalization"]
    p2, _ = claimed_sets("default")
    got = by_where(best_sets(runs, "P2", p2, [1], keys))
    assert got["LogCoshVAE, depth 1, normalization zscore"] == NOT_TESTABLE
    assert (
        got["LogCoshVAE, depth 1, normalization minmax"] == SUPPORTED
    )  # the others fail significantly more
    p4 = {r["where"]: r for r in p4_normalization(runs, "val_loss", keys, POSTER)}
    assert p4["LogCoshVAE, depth 1"]["verdict"] == NOT_TESTABLE
    assert "no two initializers can be compared under zscore" in p4["LogCoshVAE, depth 1"]["detail"]
    assert p4["VanillaVAE, depth 1"]["verdict"] != NOT_TESTABLE
    p1 = by_where(p1_most_sensitive(runs, "val_loss", keys, POSTER))
    assert (
        p1["depth 1, normalization zscore"] == NOT_TESTABLE
        and p1["depth 1, normalization minmax"] != NOT_TESTABLE
    )
    lc = runs[runs["model"] == "LogCoshVAE"]
    zscore = "LogCoshVAE, depth 1, normalization zscore"
    assert by_where(e1_uniform_clusters_worse(lc, keys, POSTER))[zscore] == NOT_TESTABLE
    assert by_where(e2_loss_vs_clustering(lc, keys, POSTER, "val_loss"))[zscore] == NOT_TESTABLE


def test_a_verdict_shows_its_coverage():
    """E1 in the paper's two cells: VanillaVAE's uniform clusters clearly worse (supported), IWAE's
    clustering at chance (not testable): "supported (1 of 2 sub-results testable)", never a bare
    "supported".
    """

    def ari(model, init, depth, norm, value, rng):
        if model == "IWAE":
            return 0.01 * rng.normal()
        return 0.6 + 0.03 * rng.normal() - (0.3 if init == "uniform" else 0.0)

    evidence = evaluate(
        simulate(lambda *a: 0.0, ari=ari, models=("VanillaVAE", "IWAE")), claims=("E1",)
    )
    row = verdicts(evidence).set_index("claim").loc["E1"]
    assert (
        row["verdict"] == SUPPORTED and row["coverage"] == "supported (1 of 2 sub-results testable)"
    )
    assert (
        shown_verdict(SUPPORTED, 2, 2) == SUPPORTED
        and shown_verdict(NOT_TESTABLE, 0, 2) == NOT_TESTABLE
    )


def test_e2_is_judged_between_and_within_initializers():
    """Simpson's paradox, as IWAE showed under initsens: initializers with a lower loss cluster
    worse (between: ρ ≈ +1, supported: the loss does not reflect the clustering), while within each
    initializer a lower loss goes with a better clustering (within: ρ strongly negative,
    contradicted). Pooling every run (v2) shows the first and hides the second; v3 decides on the
    between reading and reports the within one beside it.
    """

    def ari(model, init, depth, norm, value, rng):
        level = INITS.index(init)  # higher loss for higher index (shift), better clustering too
        return 0.3 + 0.1 * level - 0.05 * (value - 100 - 2.0 * level)

    runs = simulate(
        lambda m, i, d, n: 2.0 * INITS.index(i), ari=ari, models=("VanillaVAE",), noise=1.0
    )
    row = e2_loss_vs_clustering(runs, KEYS, PAPER, "val_loss")[0]
    assert row["verdict"] == SUPPORTED and row["estimate"] > 0.5
    assert row["within_verdict"] == CONTRADICTED and row["within_rho"] < -0.9
    rhos = between_initializers(runs, "val_loss")
    seed0 = runs[runs["seed"] == 0]
    assert rhos[0] == pytest.approx(stats.spearmanr(seed0["val_loss"], seed0["ari"]).statistic)
    # within: centred within-initializer ranks, checked against ranking each initializer's runs by
    # hand
    rho, n_eff = within_initializers(runs, "val_loss")
    x, y = [], []
    for _, g in runs.groupby("initializer"):
        x += list(stats.rankdata(g["val_loss"]) - 5.5)
        y += list(stats.rankdata(g["ari"]) - 5.5)
    assert rho == pytest.approx(np.corrcoef(x, y)[0, 1]) and n_eff == 50 - 5 + 1


def test_e2_interval_uses_the_bonett_wright_variance():
    low, high = fisher_z_interval(0.5, 30, 0.95)
    half = 1.959963984540054 * np.sqrt((1 + 0.5**2 / 2) / 27)  # Bonett & Wright (2000), written out
    assert (low, high) == pytest.approx(
        (np.tanh(np.arctanh(0.5) - half), np.tanh(np.arctanh(0.5) + half))
    )


def test_p2_names_the_strongest_contradiction():
    """Claimed uniform worse than both normal (by a little) and xavier_uniform (by a lot): the
    sub-result names xavier_uniform (smallest p), not the alphabetically first rival.
    """
    shift = {
        "uniform": 3.0,
        "normal": 0.0,
        "xavier_uniform": -30.0,
        "default": 40.0,
        "xavier_normal": 40.0,
    }
    runs = simulate(lambda m, i, d, n: shift[i], models=("VanillaVAE",), noise=1.0)
    row = best_sets(runs, "P2", {"VanillaVAE": {"uniform"}}, [1])[0]
    assert (
        row["verdict"] == CONTRADICTED
        and "significantly worse than xavier_uniform" in row["detail"]
    )


def games_howell_by_hand(a: np.ndarray, b: np.ndarray, k: int) -> tuple[float, float, float, float]:
    """centre(a) − centre(b) (means trimmed by the rules' TRIM: 0 in v5), its Games-Howell
    simultaneous 95% CI among k groups and its adjusted p, written out: Yuen's standard error from
    scipy's winsorized samples (Welch's at trim 0), Welch-Satterthwaite df on the trimmed sizes,
    scipy's studentized range.
    """

    def parts(x: np.ndarray) -> tuple[float, float, int]:
        h = x.size - 2 * int(TRIM * x.size)
        winsorized = np.asarray(mstats.winsorize(x, limits=(TRIM, TRIM)))
        return stats.trim_mean(x, TRIM), (x.size - 1) * winsorized.var(ddof=1) / (h * (h - 1)), h

    (ca, va, ha), (cb, vb, hb) = parts(a), parts(b)
    diff, se = ca - cb, np.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / (ha - 1) + vb**2 / (hb - 1))
    half = stats.studentized_range.ppf(0.95, k, df) / np.sqrt(2) * se
    return (
        diff,
        diff - half,
        diff + half,
        stats.studentized_range.sf(abs(diff) / se * np.sqrt(2), k, df),
    )


def spread_runs(
    model: str, depth: int, centre: dict[str, float], spread: dict[str, float]
) -> pd.DataFrame:
    """One cell, ten seeds per initializer: centre + spread * (a fixed zero-mean pattern), so each
    mean is exact.
    """
    pattern = np.array([-1.5, -1.0, -0.6, -0.3, -0.1, 0.1, 0.3, 0.6, 1.0, 1.5])
    return pd.DataFrame(
        [
            {
                "model": model,
                "depth": depth,
                "initializer": i,
                "seed": s,
                "status": "ok",
                "val_loss": centre[i] + spread[i] * p,
            }
            for i in INITS
            for s, p in enumerate(pattern)
        ]
    )


def test_p2_p3_show_the_defined_delta_apart_from_the_contradicting_pair():
    """The estimate is Δ as P2/P3 define it (best other − worst claimed), the contradicting pair in
    columns of its own. IWAE at depth 2: claimed default loses to claimed xavier_normal
    (contradicted) while every other initializer is worse than every claimed one, so Δ = normal −
    default is positive and the pair xavier_normal − default negative. InfoVAE at depth 1: normal
    has the lowest mean but scatters widely, xavier_normal beats uniform with the smallest p: Δ
    compares normal, the pair xavier_normal. Right answers computed here from the runs.
    """
    iwae = spread_runs(
        "IWAE",
        2,
        {
            "xavier_normal": 100.0,
            "xavier_uniform": 100.5,
            "default": 103.0,
            "normal": 105.0,
            "uniform": 110.0,
        },
        dict.fromkeys(INITS, 0.3),
    )
    info = spread_runs(
        "InfoVAE",
        1,
        {
            "uniform": 103.0,
            "normal": 100.0,
            "xavier_normal": 100.2,
            "xavier_uniform": 106.0,
            "default": 106.0,
        },
        {**dict.fromkeys(INITS, 0.3), "normal": 6.0},
    )
    _, p3 = claimed_sets("default")
    cases = [
        (best_sets(iwae, "P3", p3, [2])[0], iwae, "normal", "default", "xavier_normal"),
        (
            best_sets(info, "P2", {"InfoVAE": {"uniform"}}, [1])[0],
            info,
            "normal",
            "uniform",
            "xavier_normal",
        ),
    ]
    for row, runs, best_other, worst, better in cases:
        values = {i: g["val_loss"].to_numpy() for i, g in runs.groupby("initializer")}
        delta, low, high, _ = games_howell_by_hand(values[best_other], values[worst], len(INITS))
        assert (row["estimate"], row["ci_low"], row["ci_high"]) == pytest.approx((delta, low, high))
        pair, pair_low, pair_high, pair_p = games_howell_by_hand(
            values[better], values[worst], len(INITS)
        )
        assert row["verdict"] == CONTRADICTED and pair_p < 0.05
        assert (row["best_other"], row["worst_claimed"]) == (best_other, worst)
        assert (row["pair_claimed"], row["pair_better"], row["pair_by"]) == (
            worst,
            better,
            BY_CENTRE,
        )
        assert (
            row["pair_estimate"],
            row["pair_low"],
            row["pair_high"],
            row["pair_p"],
        ) == pytest.approx((pair, pair_low, pair_high, pair_p), rel=1e-6)
        assert row["margin"] == pytest.approx(
            pair_low
        )  # the deciding sub-result is chosen as before
        assert row["contradiction"].startswith(
            f"{better} beats claimed {worst}: {better} − {worst} = {pair:+.3g}"
        )
    iwae_row = cases[0][0]
    assert iwae_row["estimate"] == pytest.approx(2.0) and iwae_row[
        "pair_estimate"
    ] == pytest.approx(-3.0)
    info_row = cases[1][0]
    assert info_row["estimate"] == pytest.approx(-3.0) and info_row[
        "pair_estimate"
    ] == pytest.approx(-2.8)
    # the verdict table's deciding sub-result carries both, the statistic as defined and the pair
    evidence = pd.DataFrame([iwae_row]).assign(metric="val_loss")
    row = verdicts(evidence).set_index("claim").loc["P3"]
    assert row["verdict"] == CONTRADICTED and row["estimate"] == pytest.approx(2.0)
    assert row["pair_better"] == "xavier_normal" and row["pair_estimate"] == pytest.approx(-3.0)


def test_each_sub_result_says_whether_its_rules_were_stated_before_its_runs():
    """VanillaVAE's runs were recorded ten hours before the rules in force were fixed, the other
    models' ten hours after, but for one InfoVAE run recorded at the very second they were fixed
    (not after). A sub-result is stated before only when every run it is judged on came after: P2's
    IWAE and LogCoshVAE cells, not VanillaVAE's nor InfoVAE's, and not P1's group, which holds all
    four models.
    """
    fixed = pd.Timestamp(RULES_HISTORY[-1].fixed_at)
    assert RULES_HISTORY[-1].date == RULES_HISTORY[-1].fixed_at[:10] == str(fixed.date())
    runs = simulate(lambda *a: 0.0, seeds=4)
    after = fixed + pd.Timedelta(hours=10) + pd.to_timedelta(np.arange(len(runs)), unit="s")
    runs["finished_at"] = np.where(
        runs["model"] == "VanillaVAE", fixed - pd.Timedelta(hours=10), after
    )
    runs.loc[runs.index[runs["model"] == "InfoVAE"][3], "finished_at"] = fixed
    evidence = evaluate(runs)
    got = evidence.set_index(["claim", "where"])["stated_before"]
    expected = {"VanillaVAE": "no", "IWAE": "yes", "InfoVAE": "no", "LogCoshVAE": "yes"}
    assert {m: got["P2", f"{m}, depth 1"] for m in MODELS} == expected
    assert (
        got["P4", "all cells"] == "no"
    )  # one normalization: not testable, judged (as such) on every run
    assert got["P1", "depth 1"] == "no" and got["E1", "IWAE, depth 1"] == "yes"
    assert got["E2", "VanillaVAE, depth 1"] == "no"
    first = evidence.set_index(["claim", "where"])["first_recorded"]
    assert first["P2", "IWAE, depth 1"] == runs.loc[runs["model"] == "IWAE", "finished_at"].min()
    row = verdicts(evidence).set_index("claim").loc["P2"]
    assert row["n_stated_before"] == 2
    # against an earlier version the same runs were all recorded after it; runs that do not say
    # when: unknown
    assert (
        RULES_HISTORY[-2].stated_before(fixed) == "yes"
        and RULES_HISTORY[-1].stated_before(pd.NaT) == ""
    )
    assert set(evaluate(runs.drop(columns="finished_at"), claims=("P2",))["stated_before"]) == {""}


def test_each_rules_version_is_fixed_at_its_commits_time():
    """``fixed_at`` is the committer time of the version's commit, as git records it (where git and
    the history are at hand).
    """
    import shutil
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    for version in RULES_HISTORY:
        shown = subprocess.run(
            ["git", "show", "-s", "--format=%cI", version.commit],
            cwd=root,
            capture_output=True,
            text=True,
        )
        if shown.returncode != 0:
            pytest.skip(f"commit {version.commit} is not in this checkout's history")
        assert pd.Timestamp(version.fixed_at) == pd.Timestamp(shown.stdout.strip()), version.version


def test_the_report_words_each_sub_result_as_its_provenance_says(tmp_path):
    """VanillaVAE's runs recorded before the rules in force were fixed, the other models' after: the
    report marks P2's VanillaVAE cell (and the deciding sub-result, when it is that one) "judged
    after seeing its runs", counts the sub-results stated before, and shows the contradicting pair
    apart from Δ.
    """
    from initsens.reproduction.report.sections import claim_section, claims_overview
    from initsens.reproduction.result import PhaseProgress, StudyResult
    from initsens.reproduction.studies import plan_studies
    from initsens.reproduction.verdicts import judge_runs, verdict_table

    shift = {
        "uniform": 3.0,
        "normal": 6.0,
        "xavier_normal": 0.0,
        "xavier_uniform": 6.0,
        "default": 6.0,
    }
    runs = simulate(lambda m, i, d, n: shift[i] if m == "VanillaVAE" else 0.0, seeds=5, noise=0.5)
    fixed = pd.Timestamp(RULES_HISTORY[-1].fixed_at)
    runs["finished_at"] = np.where(
        runs["model"] == "VanillaVAE",
        fixed - pd.Timedelta(hours=10),
        fixed + pd.Timedelta(hours=10),
    )
    evidence = judge_runs(runs, "default", 0.05)
    study = plan_studies(["initsens"], {"repeats": 5}, tmp_path, ladder=False)[0]
    result = StudyResult(
        study,
        runs,
        evidence,
        verdict_table(evidence),
        len(runs),
        len(runs),
        phases=[PhaseProgress(study.phases[0], len(runs), len(runs), True)],
    )
    section = "\n".join(claim_section("P2", [result], None))
    assert (
        f"Judged by rules stated before their runs ({RULES_HISTORY[-1].version}, fixed "
        f"{RULES_HISTORY[-1].date}): 3 of 4 in the source's "
        "scope (IWAE, depth 1; InfoVAE, depth 1; LogCoshVAE, depth 1); the others were judged "
        "after seeing"
    ) in section
    vanilla = next(
        line for line in section.splitlines() if line.startswith("| VanillaVAE, depth 1 |")
    )
    assert "| contradicted |" in vanilla and "| no: judged after seeing its runs |" in vanilla
    assert "xavier_normal beats claimed uniform: xavier_normal − uniform = " in vanilla
    overview = next(
        line
        for line in claims_overview([result]).splitlines()
        if line.startswith("|  | initsens |") and "contradicted" in line
    )
    assert (
        "(VanillaVAE, depth 1), *judged after seeing its runs*; contradicting pair: xavier_normal "
        "beats" in overview
    )
    assert "| 3 of 4 |" in overview
