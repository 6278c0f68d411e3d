"""Each claim rule's error rate, by simulation: on tables at the boundary of the claim (true,
barely) the share of tables called contradicted stays at or below alpha (within a binomial bound),
and on tables where the claim is false by a stated margin the rule finds it (its power, printed with
``pytest -s``).

Ten seeds per initializer, as the study has; ``INITSENS_SIM_TABLES`` sets the tables per scenario
(2,000 here; the closing note's numbers used 20,000). The rules are called as the judge calls them,
except Games-Howell's decisions, taken from the studentized range's quantile (the same decision as
its p-value, checked on tables against the rule itself) because its p-value costs milliseconds per
pair.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from initsens.analysis.posthoc import studentized_range_quantile
from initsens.reproduction.claims import CONTRADICTED, SUPPORTED
from initsens.reproduction.claims.best import TRIM, CellComparison, best_set_rule
from initsens.reproduction.claims.clustering import loss_tracks_clustering, uniform_against
from initsens.reproduction.claims.normalization import rank_interaction_p
from initsens.reproduction.claims.sensitivity import omega_difference

TABLES = int(os.environ.get("INITSENS_SIM_TABLES", "2000"))
ALPHA, SEEDS = 0.05, 10
INITS = ["uniform", "a", "b", "c", "d"]


def bound(alpha: float, tables: int = TABLES) -> float:
    """The largest rejection rate compatible with a true rate of alpha: alpha + 3 binomial standard
    errors.
    """
    return alpha + 3 * np.sqrt(alpha * (1 - alpha) / tables)


def report(name: str, rate: float, what: str = "contradicted", tables: int = TABLES) -> None:
    print(f"\n{name}: {what} in {rate:.4f} of {tables} tables")


# -- E1: exact sign-flip tests ---------------------------------------------------------------------


def _e1_rate(means: dict[str, float], noise, seed: int) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    verdicts = []
    for _ in range(TABLES):
        seed_effect = 0.05 * rng.standard_normal((SEEDS, 1))
        values = np.array([means[i] for i in INITS]) + seed_effect + noise(rng, (SEEDS, len(INITS)))
        verdicts.append(
            uniform_against(pd.DataFrame(values, columns=INITS), "uniform", ALPHA, 1)[0]
        )
    verdicts = np.array(verdicts)
    return float(np.mean(verdicts == CONTRADICTED)), float(np.mean(verdicts == SUPPORTED))


@pytest.mark.parametrize("noise", ["normal", "heavy", "ties"])
def test_e1_contradiction_rate_at_the_boundary(noise):
    """Uniform ties with every other initializer (the claim "uniform is below all" barely fails to
    be false): four one-sided tests at alpha / 4 each, so at most alpha in all.
    """
    draw = {
        "normal": lambda rng, shape: 0.05 * rng.standard_normal(shape),
        "heavy": lambda rng, shape: 0.02 * rng.standard_t(2, shape),
        "ties": lambda rng, shape: 0.1 * rng.integers(-1, 2, shape),
    }[noise]
    contradicted, _ = _e1_rate(dict.fromkeys(INITS, 0.5), draw, 1)
    report(f"E1 boundary ({noise})", contradicted)
    assert contradicted <= bound(ALPHA)


def test_e1_power():
    """Uniform 0.1 above one rival (differences' SD 0.07): contradicted in most tables; 0.1 below
    all: supported.
    """
    draw = lambda rng, shape: 0.05 * rng.standard_normal(shape)  # noqa: E731
    contradicted, _ = _e1_rate({"uniform": 0.6, "a": 0.5, "b": 0.7, "c": 0.7, "d": 0.7}, draw, 2)
    _, supported = _e1_rate({"uniform": 0.4, "a": 0.5, "b": 0.5, "c": 0.5, "d": 0.5}, draw, 3)
    report("E1 power, uniform 0.1 above one rival", contradicted)
    report("E1 power, uniform 0.1 below all", supported, "supported")
    assert contradicted > 0.5 and supported > 0.5


# -- P2/P3: Games-Howell ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def q_critical():
    """The studentized range's 1 - alpha quantile for 5 groups on a grid of degrees of freedom
    (log-spaced).
    """
    grid = np.geomspace(2, 2000, 60)
    values = np.array([studentized_range_quantile(1 - ALPHA, 5, df) for df in grid])
    return lambda df: np.interp(np.log(df), np.log(grid), values)


def _claimed_worse(groups: np.ndarray, q_critical, trim: float = TRIM) -> np.ndarray:
    """Per table (tables, 5, n): is group 0 (the claimed initializer) significantly worse (higher)
    than another, by Games-Howell on ``trim``-trimmed means with Yuen's errors (rules v4; trim 0: on
    means, v3) at alpha? The rule's decision p_adj < alpha, taken as sqrt(2)|t| > q(1 - alpha, k,
    df).
    """
    n = groups.shape[2]
    g = int(np.floor(trim * n))
    h = n - 2 * g
    ordered = np.sort(groups, axis=2)
    centres = ordered[:, :, g : n - g].mean(2)
    winsorized = np.clip(ordered, ordered[:, :, g : g + 1], ordered[:, :, n - g - 1 : n - g])
    var = (n - 1) * winsorized.var(2, ddof=1) / (h * (h - 1))
    diff = centres[:, :1] - centres[:, 1:]
    se2 = var[:, :1] + var[:, 1:]
    df = se2**2 / (var[:, :1] ** 2 / (h - 1) + var[:, 1:] ** 2 / (h - 1))
    return np.any((diff > 0) & (np.sqrt(2) * np.abs(diff) / np.sqrt(se2) > q_critical(df)), axis=1)


# (claimed sd, rival sd, shape): the claimed initializer ties with the best other in centre
SCENARIOS = {
    "equal spreads": (1.0, 1.0, "normal"),
    "rival 60x wider": (0.05, 3.0, "normal"),
    "claimed 60x wider": (3.0, 0.05, "normal"),
    "skewed (lognormal)": (1.0, 1.0, "lognormal"),
    "rival: one run in ten far out": (1.0, 1.0, "outliers"),
}
#: The "outliers" shape: N(0, 1) plus 40 in one draw of ten; its 20% trimmed mean (by a
#: 4-million-draw sample), removed so that the rival's population centre is the claimed one's.
_OUTLIER_RNG = np.random.default_rng(0)
_OUTLIER_CENTRE = stats.trim_mean(
    _OUTLIER_RNG.standard_normal(4_000_000) + 40.0 * (_OUTLIER_RNG.random(4_000_000) < 0.1), 0.2
)


def _tables(rng, claimed_sd, rival_sd, shape, shift=0.0):
    def draw(sd, size):
        if (
            shape == "lognormal"
        ):  # both lognormal with the same spread: equal trimmed means, long right tail
            return sd * (rng.lognormal(0, 1, size) - np.exp(0.5))
        return sd * rng.standard_normal(size)

    groups = np.empty((TABLES, 5, SEEDS))
    groups[:, 0] = 100 + shift + draw(claimed_sd, (TABLES, SEEDS))
    if shape == "outliers":
        far = 40.0 * (rng.random((TABLES, SEEDS)) < 0.1)
        groups[:, 1] = 100 + rival_sd * (
            rng.standard_normal((TABLES, SEEDS)) + far - _OUTLIER_CENTRE
        )
    else:
        groups[:, 1] = 100 + draw(rival_sd, (TABLES, SEEDS))
    groups[:, 2:] = 150 + draw(1.0, (TABLES, 3, SEEDS))  # clearly worse: never the better one
    return groups


def test_on_means_the_outlier_scenario_is_called_far_above_alpha(q_critical):
    """The known limit of Games-Howell on means (rules v3 and v5): with one rival run in ten far out
    (the rival's mean tied with the claimed one's), it calls the claimed initializer worse in about
    a third of tables (20% trimmed means, v4, hold here when the rival's trimmed mean is tied: the
    "rival: one run in ten far out" boundary, but not under the runs' shuffled labels).
    """
    rng = np.random.default_rng(7)
    groups = np.empty((TABLES, 5, SEEDS))
    far = 40.0 * (rng.random((TABLES, SEEDS)) < 0.1)
    groups[:, 0] = 100 + rng.standard_normal((TABLES, SEEDS))
    groups[:, 1] = 100 + rng.standard_normal((TABLES, SEEDS)) + far - 4.0  # mean 100
    groups[:, 2:] = 150 + rng.standard_normal((TABLES, 3, SEEDS))
    on_means = float(np.mean(_claimed_worse(groups, q_critical, trim=0.0)))
    report("P2/P3 on means (v3, v5), rival with outliers", on_means)
    assert on_means > 4 * ALPHA


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_p2_contradiction_rate_at_the_boundary(scenario, q_critical):
    contradicted = float(
        np.mean(_claimed_worse(_tables(np.random.default_rng(4), *SCENARIOS[scenario]), q_critical))
    )
    report(f"P2/P3 boundary ({scenario})", contradicted)
    assert contradicted <= bound(ALPHA)


def test_p2_power(q_critical):
    """The claimed initializer worse than a rival by 1.5 of its SD (equal spreads): found in most
    tables (20% trimmed means, v4, found it in 0.46 of them against 0.63 on means).
    """
    power = float(
        np.mean(
            _claimed_worse(_tables(np.random.default_rng(5), 1.0, 1.0, "normal", 1.5), q_critical)
        )
    )
    report("P2/P3 power, claimed 1.5 SD worse", power)
    assert power > 0.5


def test_the_quantile_decision_is_the_rules_decision(q_critical):
    """On tables near the threshold, the simulation's decision equals best_set_rule's (Games-Howell
    p-values).
    """
    rng = np.random.default_rng(6)
    groups = np.concatenate(
        [_tables(rng, 1.0, 1.0, "normal", 1.2)[:20], _tables(rng, 0.05, 3.0, "normal", 2.5)[:20]]
    )
    fast = _claimed_worse(groups, q_critical)
    for table, expected in zip(groups, fast):
        runs = pd.DataFrame(
            [
                {"initializer": INITS[g], "val_loss": v, "failed": False}
                for g in range(5)
                for v in table[g]
            ]
        )
        verdict, _, _ = best_set_rule(
            CellComparison.from_runs(runs, "val_loss"), {"uniform"}, ALPHA, 1
        )
        assert (verdict == CONTRADICTED) == expected
    assert 0 < fast.sum() < len(fast)  # both decisions occur, so the check means something


# -- P1: jackknife-t of omega^2 differences --------------------------------------------------------


def _p1_tables(
    rng, effects: dict[str, float], wide: float = 1.0
) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """Pairs of cells (VanillaVAE, rival) sharing seeds: loss = effect * initializer index + seed +
    noise; with ``wide`` > 1 one initializer's noise is that many times wider.
    """
    out = []
    for _ in range(TABLES):
        cells = []
        for model, effect in effects.items():
            seed_effect = 0.5 * rng.standard_normal(SEEDS)
            rows = []
            for i in range(5):
                noise = rng.standard_normal(SEEDS) * (wide if i == 4 else 1.0)
                rows += [
                    {
                        "model": model,
                        "initializer": INITS[i],
                        "seed": s,
                        "val_loss": effect * i + seed_effect[s] + noise[s],
                    }
                    for s in range(SEEDS)
                ]
            cells.append(pd.DataFrame(rows))
        out.append((cells[0], cells[1]))
    return out


P1_SCENARIOS = {
    "ω² about 0.5": (0.55, 1.0),
    "ω² about 0.95": (2.5, 1.0),
    "one initializer 10x noisier": (1.5, 10.0),
}


@pytest.mark.parametrize("scenario", list(P1_SCENARIOS))
def test_p1_contradiction_rate_at_the_boundary(scenario):
    """VanillaVAE exactly as sensitive as its rival: the rival called more sensitive (one-sided
    jackknife-t upper bound of ω²(V) − ω²(rival) below 0 at 1 - alpha) in at most alpha of the
    tables.
    """
    effect, wide = P1_SCENARIOS[scenario]
    pairs = _p1_tables(np.random.default_rng(7), {"VanillaVAE": effect, "IWAE": effect}, wide)
    rate = float(
        np.mean([omega_difference(a, b, "val_loss", 1 - ALPHA, "upper")[3] < 0 for a, b in pairs])
    )
    report(f"P1 boundary ({scenario})", rate)
    assert rate <= bound(ALPHA)


def test_p1_power():
    """The rival clearly more sensitive (ω² about 0.5 against 0.9)."""
    pairs = _p1_tables(np.random.default_rng(8), {"VanillaVAE": 0.55, "IWAE": 2.0})
    power = float(
        np.mean([omega_difference(a, b, "val_loss", 1 - ALPHA, "upper")[3] < 0 for a, b in pairs])
    )
    report("P1 power, ω² 0.5 against 0.9", power)
    assert power > 0.5


# -- P4: exact sign-flip test of rank shifts -------------------------------------------------------


def _p4_rate(rng, spread: np.ndarray, moved: float = 0.0) -> float:
    """Five initializers (means 0, 1, ..., 4 in units of the noise) on ten seeds, under two
    normalizations; the second is a monotone transform (exp) of an independent draw, so ranks alone
    can be compared. With ``moved`` initializer 1 shifts by that much under the second normalization
    only.
    """
    means, rejected = np.arange(5.0), []
    for _ in range(TABLES):
        first = means + spread * rng.standard_normal((SEEDS, 5))
        second = np.exp(
            (means + moved * (np.arange(5) == 1)) + spread * rng.standard_normal((SEEDS, 5))
        )
        d = stats.rankdata(first, axis=1) - stats.rankdata(second, axis=1)
        rejected.append(rank_interaction_p(d) < ALPHA)
    return float(np.mean(rejected))


@pytest.mark.parametrize(
    "spread", [(1, 1, 1, 1, 1), (0.05, 3, 0.05, 3, 0.05)], ids=["equal", "60x"]
)
def test_p4_interaction_rate_at_the_boundary(spread):
    """The normalization changes the scale but not the order's distribution: the rank test rejects
    in at most alpha of the tables, spreads differing 60-fold included (it is exact). P4's
    contradiction also needs the best sets to differ, so its rate is lower still.
    """
    rate = _p4_rate(np.random.default_rng(9), np.array(spread, dtype=float))
    report(f"P4 boundary, rank sign-flip ({spread})", rate, "rejected")
    assert rate <= bound(ALPHA)


def test_p4_power():
    """One initializer moved by 2 SD of its noise under one normalization only."""
    power = _p4_rate(np.random.default_rng(10), np.ones(5), moved=2.0)
    report("P4 power, one initializer moved 2 SD", power, "rejected")
    assert power > 0.5


# -- E2: between initializers (mean per-seed rho, t interval) and within (Fisher-z) ----------------


def _spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho along the last axis (no ties in continuous draws)."""
    rx, ry = stats.rankdata(x, axis=-1), stats.rankdata(y, axis=-1)
    rx, ry = rx - rx.mean(-1, keepdims=True), ry - ry.mean(-1, keepdims=True)
    return (rx * ry).sum(-1) / np.sqrt((rx**2).sum(-1) * (ry**2).sum(-1))


def _e2_between(loss: np.ndarray, ari: np.ndarray, m: int = 1) -> np.ndarray:
    """E2's between-initializers decision per table (tables, seeds, initializers), vectorized: the
    rule's t interval of the mean per-seed rho (checked against loss_tracks_clustering below).
    """
    z = _z(_spearman_rows(loss, ari))
    n = z.shape[1]
    mean, se = z.mean(1), z.std(1, ddof=1) / np.sqrt(n)
    low95 = np.tanh(mean - stats.t.ppf(0.975, n - 1) * se)
    high_strict = np.tanh(mean + stats.t.ppf(1 - ALPHA / (2 * m), n - 1) * se)
    return np.where(
        low95 > -0.3, SUPPORTED, np.where(high_strict < -0.3, CONTRADICTED, "unresolved")
    )


def _z(rho: np.ndarray) -> np.ndarray:
    from initsens.reproduction.claims.clustering import RHO_CLIP

    return np.arctanh(np.clip(rho, -RHO_CLIP, RHO_CLIP))


def _e2_draw(rng, tables: int, coupling: float, shape: str) -> tuple[np.ndarray, np.ndarray]:
    """(loss, ari) per table, seed and initializer: ari = −coupling · loss + noise, loss with
    initializer effects; ``shape``: normal, heavy (t with 3 df) or unequal (initializer spreads 0.05
    to 3).
    """
    size = (tables, SEEDS, 5)
    noise = rng.standard_t(3, size) if shape == "heavy" else rng.standard_normal(size)
    spread = np.array([0.05, 0.3, 1.0, 2.0, 3.0]) if shape == "unequal" else np.ones(5)
    loss = np.linspace(0, 1, 5) + spread * noise
    ari = -coupling * loss + (
        rng.standard_t(3, size) if shape == "heavy" else rng.standard_normal(size)
    )
    return loss, ari


def _e2_boundary(shape: str) -> float:
    """The coupling at which the per-seed rhos' z-mean is −0.3 (the claim's threshold), by bisection
    on 100,000 simulated seeds.
    """
    low, high = 0.0, 3.0
    for _ in range(20):
        mid = (low + high) / 2
        loss, ari = _e2_draw(np.random.default_rng(14), 10_000, mid, shape)
        low, high = (
            (mid, high) if _z(_spearman_rows(loss, ari)).mean() > np.arctanh(-0.3) else (low, mid)
        )
    return (low + high) / 2


def test_the_vectorized_e2_decision_is_the_rules_decision():

    rng = np.random.default_rng(15)
    loss, ari = _e2_draw(rng, 60, 0.35, "normal")
    fast = _e2_between(loss, ari, 2)
    for t in range(60):
        runs = pd.DataFrame(
            [
                {"seed": s, "initializer": INITS[i], "val_loss": loss[t, s, i], "ari": ari[t, s, i]}
                for s in range(SEEDS)
                for i in range(5)
            ]
        )
        assert loss_tracks_clustering(runs, "val_loss", ALPHA, 2)[0] == fast[t]
    assert len(set(fast)) >= 2


def test_e2_power():
    """Initializers whose lower loss clearly goes with a better clustering (mean rho about −0.8):
    contradicted; lower loss with a worse clustering (mean rho about +0.25): supported. With no
    relation at all (rho 0) ten seeds show support in only about a third of the tables: the interval
    of a mean of ten per-seed rhos over five initializers is about ±0.35 wide (printed; the report's
    reach section says so).
    """
    rng = np.random.default_rng(12)
    contradicted = float(
        np.mean(_e2_between(*_e2_draw(rng, TABLES, 3.0, "normal")) == CONTRADICTED)
    )
    supported = float(np.mean(_e2_between(*_e2_draw(rng, TABLES, -0.3, "normal")) == SUPPORTED))
    at_zero = float(np.mean(_e2_between(*_e2_draw(rng, TABLES, 0.0, "normal")) == SUPPORTED))
    report("E2 power, strong coupling", contradicted)
    report("E2 power, rho about +0.25", supported, "supported")
    report("E2 power, no relation", at_zero, "supported")
    assert contradicted > 0.5 and supported > 0.5 and 0.2 < at_zero < 0.6


# -- At the decision tail: each rule's own Bonferroni level, heavy tails, unequal spreads, failures
# The rate of a wrong decision must stay within 1.5 times the level the rule decides at; with
# TAIL_TABLES tables a rule whose true rate were twice that level fails (and one at the level
# passes) by more than 4 binomial SEs.

TAIL_TABLES = int(os.environ.get("INITSENS_TAIL_TABLES", "20000"))


def within_tail(rate: float, level: float) -> bool:
    return rate <= 1.5 * level


@pytest.mark.slow
@pytest.mark.parametrize("shape", ["normal", "heavy", "unequal"])
def test_e2_tail_rates_at_the_threshold(shape):
    """Per-seed rhos whose z-mean is exactly −0.3: called contradicted at most at the rule's
    one-sided level α/(2m) with m = 2 (the paper's two cells), and called supported at most at α/2
    (its 95% interval's lower tail).
    """
    loss, ari = _e2_draw(np.random.default_rng(16), TAIL_TABLES, _e2_boundary(shape), shape)
    decided = _e2_between(loss, ari, 2)
    contradicted, supported = (
        float(np.mean(decided == CONTRADICTED)),
        float(np.mean(decided == SUPPORTED)),
    )
    report(f"E2 tail ({shape}), level {ALPHA / 4}", contradicted, tables=TAIL_TABLES)
    report(f"E2 tail ({shape}), level {ALPHA / 2}", supported, "supported", TAIL_TABLES)
    assert within_tail(contradicted, ALPHA / 4) and within_tail(supported, ALPHA / 2)


def _p1_upper_below_zero(a: np.ndarray, b: np.ndarray, level: float) -> np.ndarray:
    """P1's contradiction decision per table: the one-sided jackknife-t upper bound at ``level`` of
    rank-ω²(a) − rank-ω²(b) below 0, vectorized over tables (a, b: (tables, 5 initializers * seeds),
    +inf for a failed run; checked against omega_difference below).
    """
    from initsens.analysis.exact import omega_sq

    codes = np.repeat(np.arange(5), SEEDS)
    seeds = np.tile(np.arange(SEEDS), 5)
    values = []
    for r in range(SEEDS + 1):
        w = np.broadcast_to((seeds != r - 1).astype(float), a.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            ranked = [
                omega_sq(
                    stats.rankdata(np.where(w > 0, x, np.nan), axis=1, nan_policy="omit"), codes, w
                )
                for x in (a, b)
            ]
        values.append(ranked[0] - ranked[1])
    values = np.array(values)
    est, loo = values[0], values[1:]
    se = np.sqrt((SEEDS - 1) / SEEDS * np.sum((loo - loo.mean(0)) ** 2, axis=0))
    return est + stats.t.ppf(level, SEEDS - 1) * se < 0


def _p1_draw(rng, tables: int, effect: float, noise: str, fail: float = 0.0) -> np.ndarray:
    """(tables, 50): loss = effect · initializer + seed effect + noise (normal or t3); with ``fail``
    each run of initializer 4 fails (+inf) with that probability.
    """
    init = np.repeat(np.arange(5.0), SEEDS)
    seed_effect = 0.5 * rng.standard_normal((tables, SEEDS))[:, np.tile(np.arange(SEEDS), 5)]
    draw = rng.standard_t(3, (tables, 50)) if noise == "t3" else rng.standard_normal((tables, 50))
    values = effect * init + seed_effect + draw
    if fail:
        values[:, init == 4] = np.where(
            rng.random((tables, SEEDS)) < fail, np.inf, values[:, init == 4]
        )
    return values


def test_the_vectorized_p1_decision_is_the_rules_decision():
    rng = np.random.default_rng(17)
    a, b = _p1_draw(rng, 40, 0.6, "normal", 0.3), _p1_draw(rng, 40, 1.2, "t3")
    fast = _p1_upper_below_zero(a, b, 0.9)
    for t in range(40):
        cells = [
            pd.DataFrame(
                {
                    "initializer": np.repeat(INITS, SEEDS),
                    "seed": np.tile(np.arange(SEEDS), 5),
                    "val_loss": x[t],
                }
            )
            for x in (a, b)
        ]
        assert (omega_difference(*cells, "val_loss", 0.9, "upper")[3] < 0) == fast[t]
    assert 0 < fast.sum() < len(fast)


def _t3_scale_for(effect: float) -> float:
    """The t3 noise scale at which rank-ω² of a t3 cell equals that of a normal cell with the same
    effect (so the two models are equally sensitive: the boundary), by bisection on simulated cells.
    """
    from initsens.analysis.exact import rank_omega_sq

    codes, keep = np.repeat(np.arange(5), SEEDS), np.ones((1, 50))
    rng = np.random.default_rng(18)
    target = np.mean(
        [rank_omega_sq(_p1_draw(rng, 1, effect, "normal")[0], codes, keep) for _ in range(3000)]
    )
    low, high = 0.2, 5.0
    for _ in range(14):
        mid = (low + high) / 2
        rng = np.random.default_rng(19)
        got = np.mean(
            [
                rank_omega_sq(_p1_draw(rng, 1, effect / mid, "t3")[0], codes, keep)
                for _ in range(3000)
            ]
        )
        low, high = (mid, high) if got > target else (low, mid)
    return (low + high) / 2


P1_TAIL = {
    "normal both": ("normal", "normal", 0.0),
    "t3 both": ("t3", "t3", 0.0),
    "t3 rival, normal VanillaVAE": ("normal", "t3", 0.0),
    "30% failures in one initializer": ("normal", "normal", 0.3),
}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", list(P1_TAIL))
def test_p1_tail_rate_at_the_bonferroni_level(scenario):
    """VanillaVAE exactly as sensitive as its rival: the rival called more sensitive at P1's level
    on the poster's grid, α/(m·k) = 0.05/(4·3), in at most 1.5 times that share of the tables (v2,
    on values, gave 3x the level with a t3 rival).
    """
    first, second, fail = P1_TAIL[scenario]
    level = ALPHA / 12
    rng = np.random.default_rng(20)
    effect = 0.55
    scale = _t3_scale_for(effect) if first != second else 1.0
    a = _p1_draw(rng, TAIL_TABLES, effect, first, fail)
    b = _p1_draw(
        rng,
        TAIL_TABLES,
        effect / scale if second == "t3" and first != second else effect,
        second,
        fail,
    )
    rate = float(np.mean(_p1_upper_below_zero(a, b, 1 - level)))
    report(f"P1 tail ({scenario}), level {level:.5f}", rate, tables=TAIL_TABLES)
    assert within_tail(rate, level)


@pytest.mark.slow
@pytest.mark.parametrize("noise", ["normal", "heavy", "ties"])
def test_e1_tail_rate_at_the_bonferroni_level(noise):
    """Uniform ties with every rival: called better than some rival (contradicted) at E1's level in
    the paper's two cells, α/(m·k) = 0.05/(2·4) per comparison, in at most 1.5 times the cell's
    share α/m; and called worse than all (supported, the false support) in at most 1.5 α.
    """
    from initsens.analysis.exact import sign_flip_p_batch

    rng = np.random.default_rng(21)
    draw = {
        "normal": lambda shape: 0.05 * rng.standard_normal(shape),
        "heavy": lambda shape: 0.02 * rng.standard_t(2, shape),
        "ties": lambda shape: 0.1 * rng.integers(-1, 2, shape),
    }[noise]
    values = 0.05 * rng.standard_normal((TAIL_TABLES, SEEDS, 1)) + draw((TAIL_TABLES, SEEDS, 5))
    d = values[:, :, :1] - values[:, :, 1:]  # uniform minus each rival
    better = np.stack([sign_flip_p_batch(d[:, :, j], "greater") for j in range(4)], 1)
    worse = np.stack([sign_flip_p_batch(d[:, :, j], "less") for j in range(4)], 1)
    contradicted = float(np.mean(np.any(better <= ALPHA / 8, axis=1)))
    supported = float(np.mean(np.all(worse <= ALPHA, axis=1)))
    report(f"E1 tail ({noise}), level {ALPHA / 2}", contradicted, tables=TAIL_TABLES)
    report(f"E1 tail ({noise}), level {ALPHA}", supported, "supported", TAIL_TABLES)
    assert within_tail(contradicted, ALPHA / 2) and within_tail(supported, ALPHA)


# -- Through the whole judging path: claim -> sub-results -> verdict -------------------------------
# Full tables (models x initializers x depths x normalizations x seeds) through evaluate() and
# verdicts(), as the judge calls them: scope split, Bonferroni m and k, the ARI gate, failures and
# the aggregation included. At the claim's boundary the claim-level false "contradicted" rate stays
# within alpha, and false "supported" within alpha.

PATH_TABLES = int(os.environ.get("INITSENS_PATH_TABLES", "300"))
MODELS4 = ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")
INIT5 = ("kaiming_uniform", "normal", "uniform", "xavier_normal", "xavier_uniform")


def _grid(
    rng, loss, ari=None, fail=None, models=MODELS4, depths=(1, 2), norms=("zscore", "minmax")
) -> pd.DataFrame:
    """One table of runs: loss(model, init, depth, norm, seed effect, rng) and ari(...) give the
    values; fail(...) -> True marks a run diverged.
    """
    rows = []
    for model in models:
        for depth in depths:
            for norm in norms:
                seed_effect = 0.5 * rng.standard_normal(SEEDS)
                for i, init in enumerate(INIT5):
                    for s in range(SEEDS):
                        value = loss(model, i, depth, norm, seed_effect[s], rng)
                        score = (
                            ari(model, i, depth, norm, value, rng)
                            if ari
                            else 0.5 + 0.05 * rng.standard_normal()
                        )
                        failed = bool(fail and fail(model, i, depth, norm, rng))
                        rows.append(
                            {
                                "model": model,
                                "initializer": init,
                                "depth": depth,
                                "normalization": norm,
                                "seed": s,
                                "status": "diverged" if failed else "ok",
                                "val_loss": np.nan if failed else value,
                                "ari": np.nan if failed else score,
                            }
                        )
    return pd.DataFrame(rows)


def _within_alpha(claim: str, label: str, make, seed: int, supported_too: bool = True) -> None:
    """The claim's false "contradicted" (and false "supported") share over PATH_TABLES tables stays
    within alpha.
    """
    contradicted, supported = _claim_rates(claim, make, seed)
    report(f"{claim} whole path, {label}", contradicted, tables=PATH_TABLES)
    report(f"{claim} whole path, {label}", supported, "supported", PATH_TABLES)
    assert contradicted <= bound(ALPHA, PATH_TABLES)
    assert supported <= bound(ALPHA, PATH_TABLES) or not supported_too


def _claim_rates(claim: str, make, seed: int) -> tuple[float, float]:
    """(false contradicted, false supported) shares of the claim's verdict over PATH_TABLES
    tables.
    """
    from initsens.reproduction.claims import evaluate, verdicts

    rng = np.random.default_rng(seed)
    got = []
    for _ in range(PATH_TABLES):
        evidence = evaluate(make(rng), "val_loss", ALPHA, (claim,))
        got.append(verdicts(evidence).set_index("claim").loc[claim, "verdict"])
    got = np.array(got)
    return float(np.mean(got == CONTRADICTED)), float(np.mean(got == SUPPORTED))


@pytest.mark.slow
def test_p1_whole_path_at_the_boundary_with_failures():
    """Every model exactly as sensitive as VanillaVAE on the poster's grid (4 groups, k = 3),
    uniform failing in 30% of every model's runs (failures count as sensitivity, equally): P1 is
    neither contradicted nor supported beyond alpha.
    """

    def make(rng):
        return _grid(
            rng,
            lambda m, i, d, n, se, r: 0.55 * i + se + r.standard_normal(),
            fail=lambda m, i, d, n, r: i == 2 and r.random() < 0.3,
        )

    _within_alpha("P1", "boundary with failures", make, 22)


@pytest.mark.slow
def test_e1_whole_path_at_the_boundary_with_the_ari_gate_and_failures():
    """Uniform clusters exactly as well as the others in VanillaVAE's cells (10% of every
    initializer's runs fail, scored 0), IWAE's clustering at chance (not testable), cells beyond the
    paper's scope too: E1 contradicted or supported within alpha.
    """

    def ari(m, i, d, n, value, r):
        return 0.01 * r.standard_normal() if m == "IWAE" else 0.5 + 0.05 * r.standard_normal()

    def make(rng):
        return _grid(
            rng,
            lambda m, i, d, n, se, r: r.standard_normal(),
            ari,
            fail=lambda m, i, d, n, r: r.random() < 0.1,
            models=("VanillaVAE", "IWAE"),
        )

    _within_alpha("E1", "boundary, IWAE at chance", make, 23)


@pytest.mark.slow
def test_e2_whole_path_at_the_threshold():
    """Per-seed rhos across initializers with z-mean −0.3 in both paper cells (and beyond them): E2
    contradicted within alpha, and supported within alpha.
    """
    coupling = _e2_boundary("normal")
    spread = np.linspace(0, 1, 5)

    def loss(m, i, d, n, se, r):
        return spread[i] + r.standard_normal()

    def ari(m, i, d, n, value, r):
        return 0.5 + 0.05 * (-coupling * value + r.standard_normal())

    make = lambda rng: _grid(rng, loss, ari, models=("VanillaVAE", "IWAE"))  # noqa: E731
    _within_alpha("E2", "threshold", make, 24)


@pytest.mark.slow
def test_p2_whole_path_at_the_boundary_with_failures():
    """Depth 1, every model's claimed initializers tie with the best other one (the rest clearly
    worse) and fail as often (20%): P2 contradicted within alpha.
    """
    claimed = {"VanillaVAE": {2}, "InfoVAE": {2}, "IWAE": {0, 3, 4}, "LogCoshVAE": {0, 3, 4}}

    def loss(m, i, d, n, se, r):
        best = i in claimed[m] or i == min(set(range(5)) - claimed[m])
        return (0.0 if best else 5.0) + se + r.standard_normal()

    make = lambda rng: _grid(rng, loss, fail=lambda m, i, d, n, r: r.random() < 0.2, depths=(1,))  # noqa: E731
    _within_alpha("P2", "boundary with failures", make, 25, supported_too=False)
