"""P1: is VanillaVAE the model most sensitive to its initialization?

Each model's sensitivity is ω² of its runs' ranks (failed runs tied last), and VanillaVAE is
compared with every other model by a jackknife-t interval over seeds, at a Bonferroni level fixed by
the source's design (k = 3). See the docs' :doc:`The reproduction </reproduction>` page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from initsens.analysis.cells import cell_label
from initsens.analysis.exact import jackknife_t, rank_omega_sq
from initsens.reproduction.claims.base import (
    CONTRADICTED,
    FACTOR,
    OWN_LOSS,
    POSTER,
    SUPPORTED,
    UNRESOLVED,
    Claim,
    Figure,
    Scope,
    sub_result,
    untestable,
    with_failures,
)

TARGET = "VanillaVAE"


def _scored(cell: pd.DataFrame, metric: str) -> np.ndarray:
    """The metric with failed runs (``failed`` column, else a non-finite value) at +inf: tied last
    when ranked.
    """
    values = pd.to_numeric(cell[metric], errors="coerce").to_numpy(np.float64)
    failed = cell["failed"].to_numpy(bool) if "failed" in cell.columns else ~np.isfinite(values)
    return np.where(failed | ~np.isfinite(values), np.inf, values)


def omega_difference(
    a: pd.DataFrame, b: pd.DataFrame, metric: str, level: float, side: str = "two-sided"
) -> tuple[float, float, float, float]:
    """(Δ, jackknife SE, low, high) of rank-ω²(a) − rank-ω²(b) over every run (failed ones tied
    last) of two cells that share seeds.
    """
    seeds = np.array(sorted(set(a["seed"]) | set(b["seed"])))

    def parts(cell: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        codes = pd.factorize(cell[FACTOR], sort=True)[0]
        return _scored(cell, metric), codes, np.searchsorted(seeds, cell["seed"].to_numpy())

    (xa, ga, sa), (xb, gb, sb) = parts(a), parts(b)

    def statistic(keep: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return rank_omega_sq(xa, ga, keep[:, sa]) - rank_omega_sq(xb, gb, keep[:, sb])

    return jackknife_t(statistic, len(seeds), level, side)


def unmeasurable(cell: pd.DataFrame, metric: str) -> str:
    """Why a model's sensitivity cannot be measured in ``cell`` ('' when it can): ω² of ranks needs
    two initializers with two runs each and ranks that do not all tie (e.g. every run failed).
    """
    if int((cell.groupby(FACTOR).size() >= 2).sum()) < 2:
        return "fewer than two initializers with two runs"
    scored = _scored(cell, metric)
    if np.all(scored == scored[0]):
        return (
            f"all {len(cell)} runs failed"
            if np.isinf(scored[0])
            else "every run has the same value"
        )
    return ""


def p1_most_sensitive(
    runs: pd.DataFrame,
    metric: str,
    cell_keys: Sequence[str],
    scope: Scope,
    alpha: float = 0.05,
    target: str = TARGET,
) -> list[dict]:
    """P1's sub-results, one per group of cells sharing every key but the model (depth,
    normalization, ...).
    """
    data = with_failures(runs, metric)
    group_keys = [k for k in cell_keys if k != "model"]
    groups = list(data.groupby(group_keys, sort=True)) if group_keys else [((), data)]
    places = [dict(zip(group_keys, k if isinstance(k, tuple) else (k,))) for k, _ in groups]
    m = {
        s: max(sum(scope.contains(p) == (s == "source") for p in places), 1)
        for s in ("source", "extrapolation")
    }
    k = (
        len(scope.models) - 1
    )  # the source compared its models: fixed by its design, not by what the data left
    rows = []
    for place, (_, group) in zip(places, groups):
        where, kind = (
            cell_label(place) or "all cells",
            "source" if scope.contains(place) else "extrapolation",
        )
        cells = dict(list(group.groupby("model", sort=True)))
        absent = [model for model in scope.models if model not in cells]
        why_not = {model: unmeasurable(cell, metric) for model, cell in cells.items()}
        blocked = {model: why for model, why in why_not.items() if why}
        if absent or blocked or target not in cells:
            why = "; ".join(
                (
                    [
                        f"P1 compares the source's models, and {', '.join(absent)} were not "
                        "trained here"
                    ]
                    if absent
                    else []
                )
                + [f"{model} cannot be measured ({why})" for model, why in sorted(blocked.items())]
            )
            rows.append(untestable("P1", where, kind, group, why, level=alpha / (m[kind] * k)))
            continue
        rivals = [model for model in cells if model != target]
        strict = 1 - alpha / (m[kind] * max(k, len(rivals)))
        compared = []
        for rival in rivals:
            est, _, low95, high95 = omega_difference(cells[target], cells[rival], metric, 0.95)
            _, _, low_one, _ = omega_difference(cells[target], cells[rival], metric, 0.95, "lower")
            _, _, _, high_strict = omega_difference(
                cells[target], cells[rival], metric, strict, "upper"
            )
            compared.append((rival, est, low95, high95, low_one, high_strict))
        closest = min(compared, key=lambda c: c[1] if np.isfinite(c[1]) else -np.inf)
        if any(c[5] < 0 for c in compared):
            verdict = CONTRADICTED
        elif all(c[4] > 0 for c in compared):
            verdict = SUPPORTED
        else:
            verdict = UNRESOLVED
        beaten = [c[0] for c in compared if c[5] < 0]
        failed = {
            model: int(cell["failed"].sum())
            for model, cell in cells.items()
            if cell["failed"].any()
        }
        detail = "; ".join(
            f"rank-ω² {target} − {r} = {e:+.3g} [{lo:.3g}, {hi:.3g}]"
            for r, e, lo, hi, _, _ in compared
        )
        if failed:
            detail += "; failed runs (ranked last): " + ", ".join(
                f"{mo} {n}" for mo, n in failed.items()
            )
        if beaten:
            detail += (
                f"; more sensitive than {target} at the Bonferroni level ({100 * strict:.2f}% "
                f"one-sided bound): {', '.join(beaten)}"
            )
        rows.append(
            sub_result(
                "P1",
                where,
                kind,
                group,
                estimate=closest[1],
                low=closest[2],
                high=closest[3],
                verdict=verdict,
                margin=closest[2],
                detail=detail,
                rival=closest[0],
                level=1 - strict,
            )
        )
    return rows


CLAIM = Claim(
    key="P1",
    text="VanillaVAE is the model most sensitive to the initialization method.",
    source="poster",
    scope=POSTER,
    metric=OWN_LOSS,
    statistic="Δ_X = ω²(VanillaVAE) − ω²(X) for every other model X per depth and normalization, "
    "ω² of the ranks of each model's runs (the share of their rank variance the initializer "
    "explains; failed runs tied last, so an initializer's failures count as its worst outcomes), "
    "jackknife-t intervals over seeds",
    rule="supported when every Δ_X has a one-sided 95% lower bound above 0; contradicted when "
    "some Δ_X has a one-sided upper bound below 0 at level 1 − α/(m·k), k = 3 (the source's other "
    "models, however many the data left); not testable where one of the source's models was not "
    "trained or cannot be measured (its runs all tie, e.g. every run failed); else unresolved.",
    judge=lambda runs, judging: p1_most_sensitive(
        runs, judging.metric, judging.keys, POSTER, judging.alpha
    ),
    figure=Figure("Δω²: VanillaVAE − closest other model (> 0 supports)"),
    compares_models=True,
)
