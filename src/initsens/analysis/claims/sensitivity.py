"""P1: is VanillaVAE the model most sensitive to its initialization?

Per group of cells sharing depth and normalization: omega^2 (the share of the metric's variance the initializer
explains, one-way ANOVA over its finished runs) of VanillaVAE against every other model, as differences
Δ_X = ω²(VanillaVAE) − ω²(X), each with a jackknife-t interval over seeds (every model's runs share the
seeds, so leaving a seed out leaves it out of both). omega^2 is scale-free, so it compares models whose own
losses live on different scales.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initsens.analysis.cells import cell_label
from initsens.analysis.claims.base import (
    CONTRADICTED,
    FACTOR,
    NOT_TESTABLE,
    SUPPORTED,
    UNRESOLVED,
    Scope,
    sub_result,
    with_failures,
)
from initsens.analysis.exact import jackknife_t, omega_sq

TARGET = "VanillaVAE"


def omega_difference(a: pd.DataFrame, b: pd.DataFrame, metric: str, level: float, side: str = "two-sided"
                     ) -> tuple[float, float, float, float]:
    """(Δ, jackknife SE, low, high) of ω²(a) − ω²(b) over the finished runs of two cells that share seeds."""
    seeds = np.array(sorted(set(a["seed"]) | set(b["seed"])))

    def parts(cell: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        values = cell[metric].to_numpy(np.float64)
        values = values - values.mean()  # sums of squares on centred values (losses of ~5,000 vary in units)
        codes = pd.factorize(cell[FACTOR], sort=True)[0]
        return values, codes, np.searchsorted(seeds, cell["seed"].to_numpy())

    (xa, ga, sa), (xb, gb, sb) = parts(a), parts(b)

    def statistic(keep: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return omega_sq(xa, ga, keep[:, sa]) - omega_sq(xb, gb, keep[:, sb])

    return jackknife_t(statistic, len(seeds), level, side)


def _usable(cell: pd.DataFrame) -> bool:
    """omega^2 needs two initializers with two finished runs each."""
    return int((cell.groupby(FACTOR).size() >= 2).sum()) >= 2


def p1_most_sensitive(runs: pd.DataFrame, metric: str, cell_keys: Sequence[str], scope: Scope,
                      alpha: float = 0.05, target: str = TARGET) -> list[dict]:
    """P1's sub-results, one per group of cells sharing every key but the model (depth, normalization, ...)."""
    data = with_failures(runs, metric)
    finished = data[~data["failed"]]
    group_keys = [k for k in cell_keys if k != "model"]
    groups = list(data.groupby(group_keys, sort=True)) if group_keys else [((), data)]
    places = [dict(zip(group_keys, k if isinstance(k, tuple) else (k,))) for k, _ in groups]
    m = {s: max(sum(scope.contains(p) == (s == "source") for p in places), 1) for s in ("source", "extrapolation")}
    rows = []
    for place, (_, group) in zip(places, groups):
        where, kind = cell_label(place) or "all cells", "source" if scope.contains(place) else "extrapolation"
        trained = set(group["model"])
        absent = [model for model in scope.models if model not in trained]
        mask = np.logical_and.reduce([finished[k].to_numpy() == v for k, v in place.items()] or
                                     [np.ones(len(finished), bool)])
        cells = {model: cell for model, cell in finished[mask].groupby("model", sort=True) if _usable(cell)}
        unusable = sorted(trained - set(cells))
        note = f"; no usable runs (all failed or one initializer): {', '.join(unusable)}" if unusable else ""
        if absent or target not in cells:
            why = (f"P1 compares the source's models, and {', '.join(absent)} were not trained here" if absent
                   else f"{target} has no usable runs here")
            rows.append(sub_result("P1", where, kind, np.nan, np.nan, np.nan, NOT_TESTABLE, np.nan, why + note))
            continue
        rivals = [model for model in cells if model != target]
        if not rivals:
            rows.append(sub_result("P1", where, kind, np.nan, np.nan, np.nan, NOT_TESTABLE, np.nan,
                                   "no other model with usable runs to compare" + note))
            continue
        strict = 1 - alpha / (m[kind] * len(rivals))
        compared = []
        for rival in rivals:
            est, _, low95, high95 = omega_difference(cells[target], cells[rival], metric, 0.95)
            _, _, low_one, _ = omega_difference(cells[target], cells[rival], metric, 0.95, "lower")
            _, _, _, high_strict = omega_difference(cells[target], cells[rival], metric, strict, "upper")
            compared.append((rival, est, low95, high95, low_one, high_strict))
        closest = min(compared, key=lambda c: c[1] if np.isfinite(c[1]) else -np.inf)
        if any(c[5] < 0 for c in compared):
            verdict = CONTRADICTED
        elif all(c[4] > 0 for c in compared):
            verdict = SUPPORTED
        else:
            verdict = UNRESOLVED
        beaten = [c[0] for c in compared if c[5] < 0]
        detail = "; ".join(f"ω² {target} − {r} = {e:+.3g} [{lo:.3g}, {hi:.3g}]" for r, e, lo, hi, _, _ in compared)
        if beaten:
            detail += (f"; more sensitive than {target} at the Bonferroni level ({100 * strict:.2f}% one-sided "
                       f"bound): {', '.join(beaten)}")
        rows.append(sub_result("P1", where, kind, closest[1], closest[2], closest[3], verdict, closest[2],
                               detail + note, rival=closest[0], level=1 - strict))
    return rows
