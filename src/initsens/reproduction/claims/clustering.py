"""E1 and E2, the paper's claims about clustering (adjusted Rand index against cancer type).

E1: does uniform cluster worse (exact one-sided sign-flip tests per cell)? E2: does the loss track
the ARI, between initializers (deciding) and within them? Both are not testable where the clustering
is at chance (:func:`~initsens.reproduction.claims.base.ari_signal`). See the docs'
:doc:`The reproduction </reproduction>` page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from initsens.analysis.cells import cell_label
from initsens.analysis.exact import min_sign_flip_p, seeds_for_level, sign_flip_p
from initsens.report.format import fmt_p
from initsens.reproduction.claims.base import (
    ARI_SIGNAL,
    CONTRADICTED,
    FACTOR,
    OWN_LOSS,
    PAPER,
    SUPPORTED,
    UNRESOLVED,
    Claim,
    Figure,
    Reach,
    Scope,
    ari_signal,
    scored_ari,
    sub_result,
    untestable,
    with_failures,
)

#: E2: |rho| below this is a weak association (Cohen's boundary between small and medium).
WEAK_RHO = 0.3
#: E2's per-seed rhos are averaged on Fisher's z scale, |rho| capped here so that z stays finite. On
#: the z scale the t interval holds its level at the Bonferroni tail; on the rho scale it did not
#: (simulated: 2.3x the level).
RHO_CLIP = 0.95
TARGET = "uniform"


def _cells(
    runs: pd.DataFrame, cell_keys: Sequence[str], scope: Scope, holding: str | None = None
) -> tuple[list, dict[str, int]]:
    """(keys, rows, scope kind) of every cell (holding initializer ``holding``, when given), and the
    number of sub-results per kind (the Bonferroni m of each family).
    """
    cells = [
        (dict(zip(cell_keys, k if isinstance(k, tuple) else (k,))), cell)
        for k, cell in runs.groupby(list(cell_keys), sort=True)
        if holding is None or holding in set(cell[FACTOR])
    ]
    kinds = ["source" if scope.contains(keys) else "extrapolation" for keys, _ in cells]
    return [(*c, kind) for c, kind in zip(cells, kinds)], {
        s: max(kinds.count(s), 1) for s in ("source", "extrapolation")
    }


def uniform_against(
    wide: pd.DataFrame, target: str, alpha: float, m: int
) -> tuple[str, list[tuple], str]:
    """E1's rule in one cell from ``wide`` ARIs (seeds x initializers, failed runs at 0): (verdict,
    per rival (rival, mean difference, p that target is better, p that it is worse), attainability
    note).
    """
    others = [c for c in wide.columns if c != target]
    level = alpha / (m * max(len(others), 1))
    compared = []
    for other in others:
        d = (wide[target] - wide[other]).dropna().to_numpy(np.float64)
        if d.size < 2:
            continue
        compared.append(
            (
                other,
                float(d.mean()),
                sign_flip_p(d, "greater"),
                sign_flip_p(d, "less"),
                int(np.count_nonzero(d)),
            )
        )
    if not compared:
        return UNRESOLVED, [], "no paired seeds"
    nonzero = max(c[4] for c in compared)
    smallest = min_sign_flip_p(nonzero)
    note = (
        f"contradiction needs a one-sided p <= {level:.3g}; with {nonzero} nonzero differences the "
        f"sign-flip test's smallest p is {smallest:.3g}"
    )
    if smallest > level:
        note += f" (unreachable: needs >= {seeds_for_level(level)} seeds with nonzero differences)"
    if any(c[2] <= level for c in compared):
        verdict = CONTRADICTED
    elif len(compared) == len(others) and all(c[3] <= alpha for c in compared):
        verdict = SUPPORTED
    else:
        verdict = UNRESOLVED
    return verdict, compared, note


def e1_uniform_clusters_worse(
    runs: pd.DataFrame,
    cell_keys: Sequence[str],
    scope: Scope,
    alpha: float = 0.05,
    target: str = TARGET,
) -> list[dict]:
    """E1's sub-results: one per cell holding uniform."""
    data = runs.assign(ari_scored=scored_ari(runs))
    cells, m = _cells(data, cell_keys, scope, holding=target)
    rows = []
    for keys, cell, kind in cells:
        where = cell_label(keys)
        signal, why = ari_signal(cell)
        if not signal:
            rows.append(untestable("E1", where, kind, cell, f"clustering at chance: {why}"))
            continue
        wide = cell.pivot_table(index="seed", columns=FACTOR, values="ari_scored", aggfunc="first")
        verdict, compared, note = uniform_against(wide, target, alpha, m[kind])
        if not compared:
            rows.append(
                sub_result(
                    "E1",
                    where,
                    kind,
                    cell,
                    estimate=np.nan,
                    low=np.nan,
                    high=np.nan,
                    verdict=UNRESOLVED,
                    margin=np.nan,
                    detail=note,
                )
            )
            continue
        closest = max(compared, key=lambda c: c[1])
        d = (wide[target] - wide[closest[0]]).dropna().to_numpy(np.float64)
        half = _t_half(d)
        level = alpha / (m[kind] * max(len(wide.columns) - 1, 1))
        detail = (
            "; ".join(
                f"{target} − {o} = {diff:+.3f} (sign-flip p: better "
                f"{fmt_p(pg, (level,), floor=None)}, worse {fmt_p(pl, (alpha,), floor=None)})"
                for o, diff, pg, pl, _ in compared
            )
            + "; "
            + note
        )
        rows.append(
            sub_result(
                "E1",
                where,
                kind,
                cell,
                estimate=closest[1],
                low=closest[1] - half,
                high=closest[1] + half,
                verdict=verdict,
                margin=-(closest[1] + half),
                detail=detail,
                rival=closest[0],
                p_value=closest[2],
                level=level,
                nonzero_min=min(c[4] for c in compared),
                nonzero_max=max(c[4] for c in compared),
            )
        )
    return rows


def _t_half(d: np.ndarray) -> float:
    """Half-width of the paired t 95% interval of the mean difference (shown beside the exact
    tests).
    """
    return (
        float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
        if d.size > 1
        else np.nan
    )


def fisher_z_interval(r: float, n_eff: int, level: float) -> tuple[float, float]:
    """Two-sided interval at ``level`` of a rank correlation ``r`` from ``n_eff`` pairs: Fisher's z
    with Bonett and Wright's (2000) variance for Spearman's rho, (1 + r²/2) / (n_eff − 3).
    """
    if not np.isfinite(r) or n_eff < 4:
        return np.nan, np.nan
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt((1 + r**2 / 2) / (n_eff - 3))
    z = np.arctanh(np.clip(r, -0.999999, 0.999999))
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def between_initializers(finished: pd.DataFrame, metric: str) -> np.ndarray:
    """Per seed, Spearman's rho across the initializers between the loss and the ARI of that seed's
    finished runs (seeds with fewer than three such runs, or a constant loss or ARI, left out): do
    initializers with a lower loss cluster better?
    """
    rhos = []
    for _, runs in finished.groupby("seed", sort=True):
        x, y = runs[metric].to_numpy(np.float64), runs["ari"].to_numpy(np.float64)
        keep = np.isfinite(x) & np.isfinite(y)
        if keep.sum() >= 3 and np.ptp(x[keep]) > 0 and np.ptp(y[keep]) > 0:
            rhos.append(stats.spearmanr(x[keep], y[keep]).statistic)
    return np.asarray(rhos, dtype=np.float64)


def within_initializers(finished: pd.DataFrame, metric: str) -> tuple[float, int]:
    """(rho, n_eff): Spearman's rho between the loss and the ARI within initializers (each ranked
    among its own initializer's finished runs and centred there, the centred ranks correlated over
    every run): across seeds of one initializer, does a lower loss go with a better clustering?
    n_eff = runs − initializers + 1.
    """
    data = finished[np.isfinite(finished[metric]) & np.isfinite(finished["ari"])]
    groups = data.groupby(FACTOR, sort=True)
    data = data[groups[metric].transform("size") >= 2]
    if len(data) < 4:
        return np.nan, len(data)
    grouped = data.groupby(FACTOR, sort=True)
    x = grouped[metric].rank() - grouped[metric].transform("size").add(1) / 2
    y = grouped["ari"].rank() - grouped["ari"].transform("size").add(1) / 2
    n_eff = len(data) - grouped.ngroups + 1
    if not (x.std() > 0 and y.std() > 0):
        return np.nan, n_eff
    return float(np.corrcoef(x, y)[0, 1]), n_eff


def weak_rule(low95: float, high_strict: float) -> str:
    """E2's decision from an interval of rho: supported when its 95% lower bound lies above
    −WEAK_RHO, contradicted when its upper bound at the Bonferroni level lies below −WEAK_RHO, else
    unresolved.
    """
    if not np.isfinite(low95):
        return UNRESOLVED
    if low95 > -WEAK_RHO:
        return SUPPORTED
    if high_strict < -WEAK_RHO:
        return CONTRADICTED
    return UNRESOLVED


def loss_tracks_clustering(
    finished: pd.DataFrame, metric: str, alpha: float, m: int
) -> tuple[str, dict, dict]:
    """E2's rule in one cell (its finished runs): (verdict, between-initializers reading,
    within-initializers reading). The verdict is the between reading's: the per-seed rhos across
    initializers averaged on Fisher's z scale (a rho of ±1, five initializers in perfect order,
    counted as ±:data:`RHO_CLIP`), with a t interval of the mean z (95% and at the Bonferroni level
    1 − α/m), back-transformed; the within reading (pooled within-initializer rho, Fisher-z
    interval) is judged by the same thresholds and reported beside it.
    """
    z = np.arctanh(np.clip(between_initializers(finished, metric), -RHO_CLIP, RHO_CLIP))
    n = z.size
    between = {
        "rho": float(np.tanh(z.mean())) if n else np.nan,
        "n": n,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "strict_low": np.nan,
        "strict_high": np.nan,
    }
    if n >= 2 and np.ptp(z) > 0:
        mean, se = float(z.mean()), float(z.std(ddof=1) / np.sqrt(n))
        half95, half_strict = (stats.t.ppf(1 - a / 2, n - 1) * se for a in (0.05, alpha / m))
        between.update(
            {
                "ci_low": np.tanh(mean - half95),
                "ci_high": np.tanh(mean + half95),
                "strict_low": np.tanh(mean - half_strict),
                "strict_high": np.tanh(mean + half_strict),
            }
        )
    between["verdict"] = weak_rule(between["ci_low"], between["strict_high"])
    rho, n_eff = within_initializers(finished, metric)
    (low, high), (s_low, s_high) = (
        fisher_z_interval(rho, n_eff, 0.95),
        fisher_z_interval(rho, n_eff, 1 - alpha / m),
    )
    within = {
        "rho": rho,
        "n": n_eff,
        "ci_low": low,
        "ci_high": high,
        "strict_low": s_low,
        "strict_high": s_high,
        "verdict": weak_rule(low, s_high),
    }
    return between["verdict"], between, within


def e2_loss_vs_clustering(
    runs: pd.DataFrame, cell_keys: Sequence[str], scope: Scope, metric: str, alpha: float = 0.05
) -> list[dict]:
    """E2's sub-results, one per cell: between initializers (the verdict) and within them (reported
    beside it).
    """
    data = with_failures(runs, metric)
    cells, m = _cells(data, cell_keys, scope)
    rows = []
    for keys, cell, kind in cells:
        where = cell_label(keys)
        signal, why = ari_signal(cell)
        if not signal:
            rows.append(untestable("E2", where, kind, cell, f"clustering at chance: {why}"))
            continue
        verdict, between, within = loss_tracks_clustering(
            cell[~cell["failed"]], metric, alpha, m[kind]
        )
        detail = (
            f"between initializers (per-seed rho across initializers, z-mean of {between['n']} "
            f"seeds, t interval): {between['rho']:+.3f}, {100 * (1 - alpha / m[kind]):.2f}% CI "
            f"[{between['strict_low']:.3f}, {between['strict_high']:.3f}]; within initializers "
            f"(pooled, n_eff {within['n']}): {within['rho']:+.3f} [{within['ci_low']:.3f}, "
            f"{within['ci_high']:.3f}], {within['verdict']}"
        )
        rows.append(
            sub_result(
                "E2",
                where,
                kind,
                cell,
                estimate=between["rho"],
                low=between["ci_low"],
                high=between["ci_high"],
                verdict=verdict,
                margin=between["ci_low"] + WEAK_RHO,
                detail=detail,
                n=between["n"],
                level=alpha / m[kind],
                within_rho=within["rho"],
                within_low=within["ci_low"],
                within_high=within["ci_high"],
                within_verdict=within["verdict"],
            )
        )
    return rows


E1 = Claim(
    key="E1",
    text="Uniform initialization underperforms all other methods on downstream clustering (ARI "
    "against cancer type).",
    source="paper",
    scope=PAPER,
    metric="ari",
    statistic="d = the largest mean paired (same seed) ARI difference uniform − other "
    "initializer, failed runs scoring 0; exact sign-flip tests (paired t CI shown)",
    rule="per cell: supported when uniform's ARI is below every other initializer's (one-sided "
    "sign-flip p ≤ α each); contradicted when it is above some other's at α/(m·k) (k other "
    "initializers); not testable when the clustering is at chance (no initializer's mean ARI has "
    f"a one-sided 95% lower bound above {ARI_SIGNAL}); else unresolved.",
    judge=lambda runs, judging: e1_uniform_clusters_worse(runs, judging.keys, PAPER, judging.alpha),
    figure=Figure("mean paired ARI difference, uniform − closest other (< 0 supports)"),
    on_loss=False,
    reach=Reach("nonzero_max", min_sign_flip_p),
)
E2 = Claim(
    key="E2",
    text="Validation loss does not reflect downstream performance.",
    source="paper",
    scope=PAPER,
    metric=f"{OWN_LOSS} vs ari",
    statistic="between initializers (the paper's reading: it compared initializers): per seed, "
    "Spearman's ρ between the validation loss and the ARI across the initializers' finished runs, "
    "averaged over seeds on Fisher's z scale (|ρ| capped at 0.95) with a t interval; within "
    "initializers (reported beside it): Spearman's ρ of loss and ARI ranked within each "
    "initializer, Fisher-z interval with the Bonett-Wright variance (1 + ρ²/2)/(n_eff − 3)",
    rule="per cell, on the between-initializers reading: supported when the 95% CI of the mean ρ "
    f"lies above −{WEAK_RHO} (initializers with a lower loss cluster at most weakly better); "
    f"contradicted when its interval at 1 − α/m lies below −{WEAK_RHO}; not testable when the "
    "clustering is at chance (as E1); else unresolved. The within reading is judged by the same "
    "thresholds and shown beside it.",
    judge=lambda runs, judging: e2_loss_vs_clustering(
        runs, judging.keys, PAPER, judging.metric, judging.alpha
    ),
    figure=Figure(f"Spearman ρ(val_loss, ARI) (> −{WEAK_RHO} supports)", (-WEAK_RHO,)),
    columns={"within_rho": "ρ within initializers", "within_verdict": "within: verdict"},
)
