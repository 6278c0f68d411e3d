"""Variance components by REML: how much of a metric's variance is the initializer's?

Per cell, ``metric = mu + a_initializer + b_seed + e`` with crossed random intercepts, fitted by
maximizing the restricted likelihood directly (a component at the boundary is exactly 0), with the
ICC's interval from a parametric bootstrap. The algorithm: the docs'
:doc:`Analyze a sweep </guide/analyze>` page.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.optimize import minimize

from initsens.analysis.cells import cell_seed, iter_cells, require_columns
from initsens.errors import InitsensError


@dataclass(frozen=True)
class CrossedDesign:
    """Sufficient structure of one or two crossed indicator factors (the smaller one first)."""

    names: tuple[str, ...]
    codes: tuple[np.ndarray, ...]
    counts: tuple[np.ndarray, ...]
    cross: np.ndarray | None  # counts table N of factor 0 x factor 1
    outer: np.ndarray | None  # N[i, s] N[j, s] as a (k*k, s) matrix

    @classmethod
    def from_codes(cls, groups: dict[str, np.ndarray]) -> CrossedDesign:
        """The design of one or two crossed grouping factors (name -> level per row)."""
        coded = {name: np.unique(values, return_inverse=True)[1] for name, values in groups.items()}
        names = tuple(sorted(coded, key=lambda name: coded[name].max()))  # fewer levels first
        codes = tuple(coded[name] for name in names)
        counts = tuple(np.bincount(c).astype(np.float64) for c in codes)
        cross = None
        if len(codes) == 2:
            cross = np.zeros((counts[0].size, counts[1].size))
            np.add.at(cross, (codes[0], codes[1]), 1.0)
        if len(codes) > 2:
            raise InitsensError("variance components support at most two crossed random factors")
        outer = (
            None
            if cross is None
            else (cross[:, None, :] * cross[None, :, :]).reshape(-1, cross.shape[1])
        )
        return cls(names, codes, counts, cross, outer)

    def sums(self, y: np.ndarray) -> list[np.ndarray]:
        """Z_k' y for every factor (y may carry trailing columns, one per simulated table)."""
        out = []
        for code, count in zip(self.codes, self.counts):
            total = np.zeros((count.size, *y.shape[1:]))
            np.add.at(total, code, y)
            out.append(total)
        return out


def _profiled(
    ratios: np.ndarray,
    design: CrossedDesign,
    n: int,
    yy: np.ndarray,
    sum_y: np.ndarray,
    zy: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """(-REML log-likelihood, residual variance) of y = mu + sum_k Z_k b_k + e at ratios s2_k / s2.

    Batched: ``ratios`` is (B, K) and ``yy``/``sum_y``/``zy[k]`` describe B response vectors (zy[k]
    is (B, levels_k)), so B fits move together; M = I + L Z'Z L is handled blockwise.
    """
    scale = np.sqrt(ratios)
    d = [1.0 + ratios[:, [k]] * c for k, c in enumerate(design.counts)]
    u = [scale[:, [k]] * v for k, v in enumerate(zy)]  # L Z' y
    w = [scale[:, [k]] * c for k, c in enumerate(design.counts)]  # L Z' 1
    if design.cross is None:
        logdet = np.log(d[0]).sum(axis=1)
        pairs = ((w[0], w[0]), (w[0], u[0]), (u[0], u[0]))
        quad_ww, quad_wu, quad_uu = (np.sum(x * y / d[0], axis=1) for x, y in pairs)
    else:
        # M = [[D0, B], [B', D1]] with D1 diagonal: a' M^-1 c through the Schur complement of D1,
        # one batched solve for both right-hand sides
        # B = sqrt(r0 r1) N (N the counts table) is never formed per table: the products with
        # diag(1/D1) go through N itself, as (k*k, s) and (s, k) GEMMs over all tables at once
        k = d[0].shape[1]
        inv_d1 = 1.0 / d[1]
        both = scale[:, 0] * scale[:, 1]
        assert design.outer is not None  # the crossed design (seed shared) always has it
        schur = d[0][:, :, None] * np.eye(k) - (both**2)[:, None, None] * (
            inv_d1 @ design.outer.T
        ).reshape(-1, k, k)
        logdet = np.log(d[1]).sum(axis=1) + np.linalg.slogdet(schur)[1]
        w_red = w[0] - both[:, None] * ((w[1] * inv_d1) @ design.cross.T)
        u_red = u[0] - both[:, None] * ((u[1] * inv_d1) @ design.cross.T)
        solved = np.linalg.solve(schur, np.stack([w_red, u_red], axis=2))
        quad_ww = np.sum(w_red * solved[:, :, 0], axis=1) + np.sum(w[1] * w[1] / d[1], axis=1)
        quad_wu = np.sum(w_red * solved[:, :, 1], axis=1) + np.sum(w[1] * u[1] / d[1], axis=1)
        quad_uu = np.sum(u_red * solved[:, :, 1], axis=1) + np.sum(u[1] * u[1] / d[1], axis=1)
    xtx = n - quad_ww  # 1' H^-1 1
    xty = sum_y - quad_wu  # 1' H^-1 y
    s2 = ((yy - quad_uu) - xty**2 / xtx) / (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        neg_loglik = 0.5 * ((n - 1) * (np.log(2 * math.pi * s2) + 1.0) + logdet + np.log(xtx))
    return np.where((s2 > 0) & (xtx > 0), neg_loglik, np.inf), s2


def _statistics(
    y: np.ndarray, design: CrossedDesign
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(y'y, 1'y, [Z_k'y]) for y of shape (n, B), batched over columns."""
    return (y * y).sum(axis=0), y.sum(axis=0), [s.T for s in design.sums(y)]


def _fit(
    y: np.ndarray, design: CrossedDesign, starts: Sequence[np.ndarray]
) -> tuple[np.ndarray, float, float]:
    """Best (ratios, residual variance, REML log-likelihood) over L-BFGS-B runs from ``starts``."""
    yy, sum_y, zy = _statistics(y[:, None], design)
    objective = lambda r: float(_profiled(r[None, :], design, y.size, yy, sum_y, zy)[0][0])  # noqa: E731
    best = None
    for start in starts:
        fit = minimize(
            objective,
            start,
            method="L-BFGS-B",
            bounds=[(0.0, None)] * len(design.names),
            options={"ftol": 1e-14, "gtol": 1e-9},
        )
        if np.isfinite(fit.fun) and (best is None or fit.fun < best.fun):
            best = fit
    if best is None:
        raise InitsensError("the REML fit found no finite likelihood (is the metric constant?)")
    neg_loglik, s2 = _profiled(best.x[None, :], design, y.size, yy, sum_y, zy)
    return best.x, float(s2[0]), -float(neg_loglik[0])


def _fit_many(y: np.ndarray, design: CrossedDesign, rounds: int = 16) -> np.ndarray:
    """REML ratios for every column of y at once (for the bootstrap): a global grid, then zooming.

    The search runs in t = r / (1 + r) in [0, 1), so the boundary r = 0 is a grid point: a grid over
    all K dimensions, then ``rounds`` of a 5-point-per-dimension local grid that halves its span
    around each column's best point (final resolution ~1e-6 in t).
    """
    n, n_sims, n_dims = y.shape[0], y.shape[1], len(design.names)
    yy, sum_y, zy = _statistics(y, design)
    lines = np.linspace(0.0, 0.995, 41 if n_dims == 1 else 21)
    grid = np.stack(np.meshgrid(*[lines] * n_dims, indexing="ij"), axis=-1).reshape(-1, n_dims)
    value = np.full(n_sims, np.inf)
    best = np.zeros((n_sims, n_dims))
    for t in grid:  # every simulated table at the same grid point: one batched evaluation
        f, _ = _profiled(np.broadcast_to(t / (1 - t), (n_sims, n_dims)), design, n, yy, sum_y, zy)
        better = f < value
        value, best[better] = np.where(better, f, value), t
    offsets = np.stack(
        np.meshgrid(*[np.linspace(-1, 1, 5)] * n_dims, indexing="ij"), axis=-1
    ).reshape(-1, n_dims)
    span = lines[1] - lines[0]
    for _ in range(rounds):
        centre = best.copy()
        for o in offsets:
            t = np.clip(centre + o * span, 0.0, 0.9999)
            f, _ = _profiled(t / (1 - t), design, n, yy, sum_y, zy)
            better = f < value
            value, best[better] = np.where(better, f, value), t[better]
        span /= 2
    return best / (1 - best)


def reml_components(y: np.ndarray, groups: dict[str, np.ndarray]) -> tuple[dict[str, float], float]:
    """REML variances of crossed random intercepts ``groups`` (name -> level per observation) and
    the residual, with the REML log-likelihood.
    """
    y = np.asarray(y, dtype=np.float64)
    y = y - y.mean()  # the intercept absorbs any shift; centring keeps the algebra well scaled
    design = CrossedDesign.from_codes(groups)
    starts = [np.full(len(groups), s) for s in (0.01, 0.1, 1.0, 10.0)]
    ratios, s2, loglik = _fit(y, design, starts)
    variances = {name: float(r * s2) for name, r in zip(design.names, ratios)}
    variances = {name: variances[name] for name in groups}  # caller's order
    variances["residual"] = float(s2)
    return variances, loglik


def bootstrap_shares(
    variances: dict[str, float],
    groups: dict[str, np.ndarray],
    n_boot: int = 500,
    seed: int | np.random.SeedSequence = 0,
) -> dict[str, np.ndarray]:
    """Parametric-bootstrap draws of each component's share: simulate from the fit, refit by
    REML.
    """
    rng = np.random.default_rng(seed)
    design = CrossedDesign.from_codes(groups)
    n = design.codes[0].size
    sims = rng.normal(0.0, math.sqrt(variances["residual"]), (n, n_boot))
    for name, code, count in zip(design.names, design.codes, design.counts):
        sims += rng.normal(0.0, math.sqrt(variances[name]), (count.size, n_boot))[code]
    ratios = _fit_many(sims - sims.mean(axis=0), design)
    total = 1.0 + ratios.sum(axis=1)
    draws = {name: ratios[:, k] / total for k, name in enumerate(design.names)}
    draws["residual"] = 1.0 / total
    return draws


def _cell_groups(cell: pd.DataFrame, factor: str, replicate: str) -> dict[str, np.ndarray]:
    groups = {factor: cell[factor].to_numpy()}
    if replicate in cell.columns and cell.groupby(replicate)[factor].nunique().max() > 1:
        groups[replicate] = cell[
            replicate
        ].to_numpy()  # seeds shared across initializers: a crossed factor
    return groups


#: Rows x bootstrap refits above which the cells' bootstraps run in parallel processes (one per
#: core).
PARALLEL_WORK = 2_000_000


def _fit_cell(
    y: np.ndarray, groups: dict[str, np.ndarray], n_boot: int, seed: np.random.SeedSequence
):
    """(variances, REML log-likelihood, bootstrap draws of the shares) of one cell."""
    variances, loglik = reml_components(y, groups)
    return variances, loglik, bootstrap_shares(variances, groups, n_boot, seed) if n_boot else {}


def variance_components(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    *,
    by: Sequence[str] = ("model", "depth"),
    factor: str = "initializer",
    replicate: str = "seed",
    n_boot: int = 500,
    random_state: int = 0,
    level: float = 0.95,
    draws_out: dict | None = None,
) -> pd.DataFrame:
    """One row per cell and component: REML variances, shares and bootstrap CIs (see module
    docstring).

    The returned columns: the ``by`` columns, ``metric``, ``component`` (``factor``, ``replicate``
    when replicates are shared across levels, ``residual``), ``variance``, ``share`` (the ICC for
    ``factor``), ``ci_low``, ``ci_high``, ``reml_loglik`` and ``n``. ``draws_out``, when given,
    receives the bootstrap draws of the ICC per cell (cell key tuple -> array).

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> table = variance_components(toy_runs(), n_boot=50)
    >>> table[["model", "component", "share"]].round(2)
            model    component  share
    0        IWAE  initializer   0.98
    1        IWAE         seed   0.00
    2        IWAE     residual   0.02
    3  VanillaVAE  initializer   0.02
    4  VanillaVAE         seed   0.00
    5  VanillaVAE     residual   0.98
    """
    require_columns(runs, (*by, factor, metric))
    rows = []
    alpha = (1.0 - level) / 2
    cells = []
    for keys, cell in iter_cells(runs, by):
        y = cell[metric].to_numpy(np.float64)
        if cell[factor].nunique() < 2 or y.size <= cell[factor].nunique() or np.ptp(y) == 0:
            continue
        cells.append((keys, y, _cell_groups(cell, factor, replicate)))
    work = sum(y.size for _, y, _ in cells) * n_boot
    jobs = min(len(cells), os.cpu_count() or 1) if work > PARALLEL_WORK else 1
    fitted = Parallel(n_jobs=jobs)(
        delayed(_fit_cell)(y, groups, n_boot, cell_seed(random_state, keys))
        for keys, y, groups in cells
    )  # cells are independent: one process each
    for (keys, y, _), (variances, loglik, draws) in zip(cells, fitted):
        total = sum(variances.values())
        if draws_out is not None and draws:
            draws_out[keys] = draws[factor]
        for component, variance in variances.items():
            low, high = (
                np.quantile(draws[component], [alpha, 1 - alpha]) if n_boot else (np.nan, np.nan)
            )
            rows.append(
                {
                    **dict(zip(by, keys)),
                    "metric": metric,
                    "component": component,
                    "variance": variance,
                    "share": variance / total if total > 0 else np.nan,
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "reml_loglik": loglik,
                    "n": y.size,
                }
            )
    return pd.DataFrame(rows)
