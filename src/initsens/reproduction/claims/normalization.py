"""P4: does the normalization change which initializers are best?

Initializers are ranked within each seed and normalization (losses on different normalizations are
not affine in each other); an exact sign-flip test of the rank shifts decides the interaction and a
paired t interval their size (negligible within ±:data:`NEGLIGIBLE_SHIFT` ranks). See the docs'
:doc:`The reproduction </reproduction>` page.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from initsens.analysis.cells import cell_label
from initsens.analysis.exact import EXACT_MAX, min_sign_flip_p, sign_patterns
from initsens.report.format import fmt_p
from initsens.reproduction.claims.base import (
    CONTRADICTED,
    FACTOR,
    OWN_LOSS,
    POSTER,
    SUPPORTED,
    UNRESOLVED,
    Claim,
    Figure,
    Reach,
    Scope,
    sub_result,
    untestable,
    with_failures,
)
from initsens.reproduction.claims.best import compare_cell

#: An initializer whose mean rank (1 to k within a seed) moves by less than this between
#: normalizations has not moved in any way that matters: half a place in the ranking.
NEGLIGIBLE_SHIFT = 0.5


def seed_ranks(cell: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Seeds x initializers: each seed's runs ranked by ``metric`` (1 = lowest), failed runs last
    (tied).
    """
    values = cell.assign(_v=np.where(cell["failed"], np.inf, cell[metric].to_numpy(np.float64)))
    wide = values.pivot_table(index="seed", columns=FACTOR, values="_v", aggfunc="first").dropna()
    return pd.DataFrame(
        stats.rankdata(wide.to_numpy(), axis=1), index=wide.index, columns=wide.columns
    )


def rank_shifts(cell: pd.DataFrame, metric: str, first: str, second: str) -> pd.DataFrame:
    """D = ranks under ``first`` minus ranks under ``second``, seeds present (every run) under
    both.
    """
    a = seed_ranks(cell[cell["normalization"] == first], metric)
    b = seed_ranks(cell[cell["normalization"] == second], metric)
    seeds = a.index.intersection(b.index)
    inits = a.columns.intersection(b.columns)
    return a.loc[seeds, inits] - b.loc[seeds, inits]


def rank_interaction_p(
    shifts: np.ndarray, rng: np.random.Generator | None = None, draws: int = 200_000
) -> float:
    """Exact sign-flip p-value of T = sum_i (sum_s D[s, i])^2 over the seeds' swaps (Monte Carlo
    beyond :data:`~initsens.analysis.exact.EXACT_MAX` seeds).
    """
    d = np.asarray(shifts, dtype=np.float64)
    d = d[np.any(d != 0, axis=1)]
    if not len(d):
        return 1.0
    observed = np.sum(d.sum(0) ** 2)
    if len(d) <= EXACT_MAX:
        signs = sign_patterns(len(d))
    else:
        signs = (rng or np.random.default_rng(0)).choice([-1.0, 1.0], size=(draws, len(d)))
    totals = np.sum((signs @ d) ** 2, axis=1)
    return float(np.mean(totals >= observed * (1 - 1e-12)))


def shift_interval(d: np.ndarray, level: float) -> tuple[float, float, float]:
    """Mean of one initializer's rank shifts and its two-sided paired t interval at ``level``."""
    mean = float(d.mean())
    if d.size < 2:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.5 + level / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
    return mean, mean - half, mean + half


def p4_normalization(
    runs: pd.DataFrame,
    metric: str,
    cell_keys: list[str],
    scope: Scope,
    alpha: float = 0.05,
    cache: dict | None = None,
) -> list[dict]:
    """P4's sub-results: one per model and depth (and other cell keys but the normalization)."""
    if "normalization" not in runs.columns or runs["normalization"].nunique() < 2:
        return [
            untestable(
                "P4",
                "all cells",
                "source",
                runs,
                "the runs hold a single normalization: nothing to compare",
            )
        ]
    data = with_failures(runs, metric)
    groups = [k for k in cell_keys if k != "normalization"]
    cells = [
        (dict(zip(groups, k if isinstance(k, tuple) else (k,))), cell)
        for k, cell in data.groupby(groups, sort=True)
    ]
    norms = sorted(data["normalization"].unique())
    pairs = list(combinations(norms, 2))
    # a group is in the source's scope when its model and depth are, and so is every normalization
    # compared
    kinds = [
        "source"
        if scope.contains(place) and all(n in scope.normalizations for n in norms)
        else "extrapolation"
        for place, _ in cells
    ]
    m = {s: max(kinds.count(s), 1) for s in ("source", "extrapolation")}
    rows = []
    for (place, cell), kind in zip(cells, kinds):
        where, level = cell_label(place), alpha / (m[kind] * len(pairs))
        shifts = {pair: rank_shifts(cell, metric, *pair) for pair in pairs}
        if all(len(d) < 2 or d.shape[1] < 2 for d in shifts.values()):
            rows.append(
                untestable(
                    "P4",
                    where,
                    kind,
                    cell,
                    "fewer than two seeds with every run under both normalizations",
                )
            )
            continue
        comparisons = {
            n: compare_cell(
                cell[cell["normalization"] == n], {**place, "normalization": n}, metric, cache
            )
            for n in norms
        }
        failing = [n for n, c in comparisons.items() if not c.testable]
        if (
            failing
        ):  # as in P2/P3: nothing ranks initializers that all failed (or that nothing separates)
            rows.append(
                untestable(
                    "P4",
                    where,
                    kind,
                    cell,
                    f"no two initializers can be compared under "
                    f"{', '.join(failing)} (every run failed, or one initializer left), as P2/P3 "
                    "find there",
                    level=level,
                )
            )
            continue
        p_values = {pair: rank_interaction_p(d.to_numpy()) for pair, d in shifts.items()}
        moves = {
            (pair, init): (
                shift_interval(d[init].to_numpy(), 0.95),
                shift_interval(d[init].to_numpy(), 0.90),
            )
            for pair, d in shifts.items()
            for init in d.columns
        }
        (pair, init), ((estimate, low, high), _) = max(
            moves.items(), key=lambda item: abs(item[1][0][0])
        )
        negligible = all(
            -NEGLIGIBLE_SHIFT < lo90 and hi90 < NEGLIGIBLE_SHIFT
            for _, (_, lo90, hi90) in moves.values()
        )
        bests = {n: c.best(alpha) for n, c in comparisons.items()}
        same = len({frozenset(b) for b in bests.values()}) == 1
        moved = min(p_values.values()) < level
        if same and negligible:
            verdict = SUPPORTED
        elif not same and moved:
            verdict = CONTRADICTED
        else:
            verdict = UNRESOLVED
        detail = (
            "; ".join(f"{n}: best {{{', '.join(sorted(b))}}}" for n, b in bests.items())
            + "; "
            + "; ".join(
                f"rank interaction {a} vs {b}: sign-flip p = {fmt_p(p, (level,), floor=None)} "
                f"over {len(shifts[(a, b)])} seeds"
                for (a, b), p in p_values.items()
            )
            + f" (contradiction needs p < {level:.3g}); largest mean rank shift: {init} "
            f"{estimate:+.2f} ({pair[0]} − {pair[1]})"
        )
        nonzero = max(int(np.any(d.to_numpy() != 0, axis=1).sum()) for d in shifts.values())
        rows.append(
            sub_result(
                "P4",
                where,
                kind,
                cell,
                estimate=estimate,
                low=low,
                high=high,
                verdict=verdict,
                margin=NEGLIGIBLE_SHIFT - abs(estimate),
                detail=detail,
                p_value=min(p_values.values()),
                same_best=same,
                level=level,
                nonzero=nonzero,
            )
        )
    return rows


CLAIM = Claim(
    key="P4",
    text="The normalization technique does not change these results.",
    source="poster",
    scope=POSTER,
    metric=OWN_LOSS,
    statistic="the largest mean shift of an initializer's rank (1 to 5 within a seed, failed runs "
    "last) between two normalizations, paired by seed, with a paired t CI; an exact sign-flip "
    "test over seeds of whether any initializer's rank moves",
    rule="per model and depth: supported when the best initializers (as in P2) are the same under "
    "every normalization and every initializer's mean rank shift has a 90% CI inside "
    f"±{NEGLIGIBLE_SHIFT} (two one-sided tests at 5%); contradicted when the best sets differ and "
    "the ranks move (sign-flip p below α/m, over the pairs of normalizations too); not testable "
    "with one normalization or fewer than two seeds with every run under both, or where no two "
    "initializers can be compared under some normalization (as P2/P3: e.g. every run failed); "
    "else unresolved.",
    judge=lambda runs, judging: p4_normalization(
        runs, judging.metric, judging.keys, POSTER, judging.alpha, judging.cache
    ),
    figure=Figure(
        f"largest mean rank shift between normalizations (inside ±{NEGLIGIBLE_SHIFT} supports)",
        (-NEGLIGIBLE_SHIFT, NEGLIGIBLE_SHIFT),
    ),
    reach=Reach("nonzero", lambda n: min_sign_flip_p(n - 1), extra=1),
)
