"""E1 and E2, the paper's claims about clustering (adjusted Rand index against cancer type).

Both need a clustering that carries signal: where no initializer's ARI lies clearly above chance
(:func:`~initsens.analysis.claims.base.ari_signal`), whether uniform clusters worse (E1) or whether the loss
tracks the ARI (E2) cannot be told, and the sub-result is **not testable**.

- E1: per cell, uniform's ARI against each other initializer's on the same seed (failed runs score 0). Each
  difference is tested by the exact one-sided sign-flip test: at 10 seeds its smallest p-value is 1/1024,
  which decides whether a Bonferroni level is reachable at all (said in the detail).
- E2: per cell, Spearman's rho between the validation loss and the ARI of the finished runs, with a Fisher-z
  interval (Bonett-Wright variance).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from initsens.analysis.association import rank_correlation
from initsens.analysis.cells import cell_label
from initsens.analysis.claims.base import (
    CONTRADICTED,
    FACTOR,
    NOT_TESTABLE,
    SUPPORTED,
    UNRESOLVED,
    Scope,
    ari_signal,
    scored_ari,
    sub_result,
    with_failures,
)
from initsens.analysis.exact import min_sign_flip_p, seeds_for_level, sign_flip_p

#: E2: |rho| below this is a weak association (Cohen's boundary between small and medium).
WEAK_RHO = 0.3
TARGET = "uniform"


def _cells(runs: pd.DataFrame, cell_keys: Sequence[str], scope: Scope, holding: str | None = None
           ) -> tuple[list, dict[str, int]]:
    """(keys, rows, scope kind) of every cell (holding initializer ``holding``, when given), and the number of
    sub-results per kind (the Bonferroni m of each family).
    """
    cells = [(dict(zip(cell_keys, k if isinstance(k, tuple) else (k,))), cell)
             for k, cell in runs.groupby(list(cell_keys), sort=True)
             if holding is None or holding in set(cell[FACTOR])]
    kinds = ["source" if scope.contains(keys) else "extrapolation" for keys, _ in cells]
    return [(*c, kind) for c, kind in zip(cells, kinds)], {s: max(kinds.count(s), 1)
                                                            for s in ("source", "extrapolation")}


def uniform_against(wide: pd.DataFrame, target: str, alpha: float, m: int) -> tuple[str, list[tuple], str]:
    """E1's rule in one cell from ``wide`` ARIs (seeds x initializers, failed runs at 0): (verdict, per rival
    (rival, mean difference, p that target is better, p that it is worse), attainability note).
    """
    others = [c for c in wide.columns if c != target]
    level = alpha / (m * max(len(others), 1))
    compared = []
    for other in others:
        d = (wide[target] - wide[other]).dropna().to_numpy(np.float64)
        if d.size < 2:
            continue
        compared.append((other, float(d.mean()), sign_flip_p(d, "greater"), sign_flip_p(d, "less"),
                         int(np.count_nonzero(d))))
    if not compared:
        return UNRESOLVED, [], "no paired seeds"
    nonzero = max(c[4] for c in compared)
    smallest = min_sign_flip_p(nonzero)
    note = (f"contradiction needs a one-sided p <= {level:.3g}; with {nonzero} nonzero differences the sign-flip "
            f"test's smallest p is {smallest:.3g}")
    if smallest > level:
        note += f" (unreachable: needs >= {seeds_for_level(level)} seeds with nonzero differences)"
    if any(c[2] <= level for c in compared):
        verdict = CONTRADICTED
    elif len(compared) == len(others) and all(c[3] <= alpha for c in compared):
        verdict = SUPPORTED
    else:
        verdict = UNRESOLVED
    return verdict, compared, note


def e1_uniform_clusters_worse(runs: pd.DataFrame, cell_keys: Sequence[str], scope: Scope, alpha: float = 0.05,
                              target: str = TARGET) -> list[dict]:
    """E1's sub-results: one per cell holding uniform."""
    data = runs.assign(ari_scored=scored_ari(runs))
    cells, m = _cells(data, cell_keys, scope, holding=target)
    rows = []
    for keys, cell, kind in cells:
        where = cell_label(keys)
        signal, why = ari_signal(cell)
        if not signal:
            rows.append(sub_result("E1", where, kind, np.nan, np.nan, np.nan, NOT_TESTABLE, np.nan,
                                   f"clustering at chance: {why}"))
            continue
        wide = cell.pivot_table(index="seed", columns=FACTOR, values="ari_scored", aggfunc="first")
        verdict, compared, note = uniform_against(wide, target, alpha, m[kind])
        if not compared:
            rows.append(sub_result("E1", where, kind, np.nan, np.nan, np.nan, UNRESOLVED, np.nan, note))
            continue
        closest = max(compared, key=lambda c: c[1])
        d = (wide[target] - wide[closest[0]]).dropna().to_numpy(np.float64)
        half = _t_half(d)
        detail = "; ".join(f"{target} − {o} = {diff:+.3f} (sign-flip p: better {pg:.3g}, worse {pl:.3g})"
                           for o, diff, pg, pl, _ in compared) + "; " + note
        rows.append(sub_result("E1", where, kind, closest[1], closest[1] - half, closest[1] + half, verdict,
                               -(closest[1] + half), detail, rival=closest[0], p_value=closest[2],
                               level=alpha / (m[kind] * max(len(wide.columns) - 1, 1))))
    return rows


def _t_half(d: np.ndarray) -> float:
    """Half-width of the paired t 95% interval of the mean difference (shown beside the exact tests)."""
    return float(stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else np.nan


def loss_tracks_clustering(loss: pd.Series, ari: pd.Series, alpha: float, m: int) -> tuple[str, dict, dict]:
    """E2's rule from one cell's finished runs: (verdict, rho with its 95% interval, rho with its interval at
    the Bonferroni level 1 - alpha/m).
    """
    at95 = rank_correlation(loss, ari, 0.95)
    strict = rank_correlation(loss, ari, 1 - alpha / m)
    if not np.isfinite(at95["rho"]):
        return UNRESOLVED, at95, strict
    if at95["ci_low"] > -WEAK_RHO:
        return SUPPORTED, at95, strict
    if strict["ci_high"] < -WEAK_RHO:
        return CONTRADICTED, at95, strict
    return UNRESOLVED, at95, strict


def e2_loss_vs_clustering(runs: pd.DataFrame, cell_keys: Sequence[str], scope: Scope, metric: str,
                          alpha: float = 0.05) -> list[dict]:
    """E2's sub-results: Spearman's rho of the metric with ARI among the finished runs of each cell."""
    data = with_failures(runs, metric)
    cells, m = _cells(data, cell_keys, scope)
    rows = []
    for keys, cell, kind in cells:
        where = cell_label(keys)
        signal, why = ari_signal(cell)
        if not signal:
            rows.append(sub_result("E2", where, kind, np.nan, np.nan, np.nan, NOT_TESTABLE, np.nan,
                                   f"clustering at chance: {why}"))
            continue
        finished = cell[~cell["failed"]]
        verdict, at95, strict = loss_tracks_clustering(finished[metric], finished["ari"], alpha, m[kind])
        detail = (f"n = {at95['n']}, p = {at95['p_value']:.3g}; {100 * (1 - alpha / m[kind]):.2f}% CI "
                  f"[{strict['ci_low']:.3f}, {strict['ci_high']:.3f}]" if np.isfinite(at95["rho"])
                  else f"too few finished runs with ARI (n = {at95['n']})")
        rows.append(sub_result("E2", where, kind, at95["rho"], at95["ci_low"], at95["ci_high"], verdict,
                               at95["ci_low"] + WEAK_RHO, detail, n=at95["n"], level=alpha / m[kind]))
    return rows
