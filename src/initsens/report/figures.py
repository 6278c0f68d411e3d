"""The report's figures (matplotlib, Agg backend: no display needed), saved as PNG.

Validation losses of diverging initializers can be 10^20 times the others', so an axis switches to a
log scale when the values span more than two decades (symlog when some are not positive).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from initsens.analysis.cells import cell_mask
from initsens.analysis.study import Analysis
from initsens.atomic import atomic_path

COLORS = plt.get_cmap("tab10").colors  # type: ignore[attr-defined]


def _scale(ax, values: np.ndarray) -> None:
    values = values[np.isfinite(values)]
    if values.size and np.ptp(values) > 0:
        if values.min() > 0 and values.max() / values.min() > 100:
            ax.set_yscale("log")
        elif np.abs(values).max() / max(np.median(np.abs(values)), 1e-300) > 100:
            ax.set_yscale("symlog", linthresh=max(np.median(np.abs(values)), 1e-12))


def _save(fig, dest: Path) -> Path:
    with atomic_path(dest) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return dest


def _panels(analysis: Analysis, data: pd.DataFrame):
    cells = data[analysis.cell_keys].drop_duplicates().sort_values(analysis.cell_keys)
    column, rows = analysis.cell_keys[0], analysis.cell_keys[1:]
    row_values = list(cells[rows].drop_duplicates().itertuples(index=False)) if rows else [()]
    models = sorted(cells[column].unique())
    fig, axes = plt.subplots(
        len(row_values),
        len(models),
        figsize=(3.6 * len(models), 3.0 * len(row_values)),
        squeeze=False,
        sharex=False,
    )
    for i, row in enumerate(row_values):
        for j, model in enumerate(models):
            mask = cell_mask(data, {column: model, **dict(zip(rows, row))})
            title = str(model) + "".join(f", {k} {v}" for k, v in zip(rows, row))
            yield fig, axes[i, j], data[mask], title


def metric_by_factor(analysis: Analysis, dest: Path) -> Path:
    """Box plot and points of the metric per initializer (the factor), one panel per cell."""
    data, factor = analysis.runs[~analysis.runs["failed"]], analysis.factor
    inits = sorted(analysis.runs[factor].unique())
    rng = np.random.default_rng(0)
    fig = None
    for fig, ax, cell, title in _panels(analysis, data):  # noqa: B007 (the last figure is saved below)
        groups = [cell.loc[cell[factor] == i, analysis.metric].to_numpy() for i in inits]
        ax.boxplot([g if g.size else [np.nan] for g in groups], showfliers=False, widths=0.6)
        for k, g in enumerate(groups):
            ax.scatter(
                k + 1 + rng.uniform(-0.15, 0.15, g.size), g, s=10, alpha=0.7, color=COLORS[k % 10]
            )
        _scale(ax, cell[analysis.metric].to_numpy(np.float64))
        ax.set_xticks(range(1, len(inits) + 1), inits, rotation=35, ha="right", fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel(analysis.metric, fontsize=8)
    assert fig is not None, "no panel to draw"
    fig.suptitle(f"{analysis.metric} by {factor} (failed runs left out)", fontsize=11)
    fig.tight_layout()
    return _save(fig, dest)


def sensitivity_indices(analysis: Analysis, dest: Path) -> Path:
    """omega^2 and ICC per model (the first cell column) with their 95% CIs, one colour per depth
    (the others).
    """
    table, factor = analysis.tables["sensitivity"], analysis.factor
    indices = list(table["index"].unique())
    fig, axes = plt.subplots(1, len(indices), figsize=(5.0 * len(indices), 3.6), squeeze=False)
    ranked, groups = analysis.cell_keys[0], analysis.cell_keys[1:]
    models = sorted(table[ranked].unique())
    for ax, index in zip(axes[0], indices):
        sub = table[table["index"] == index]
        keys = sub[groups].drop_duplicates().sort_values(groups) if groups else pd.DataFrame([()])
        width = 0.8 / max(len(keys), 1)
        for g, key in enumerate(keys.itertuples(index=False)):
            part = sub[cell_mask(sub, dict(zip(groups, key)))].set_index(ranked)
            part = part.reindex(models)
            x = np.arange(len(models)) + (g - (len(keys) - 1) / 2) * width
            err = np.vstack([part["value"] - part["ci_low"], part["ci_high"] - part["value"]]).clip(
                min=0
            )
            ax.errorbar(
                x,
                part["value"],
                yerr=err,
                fmt="o",
                capsize=3,
                color=COLORS[g % 10],
                label=", ".join(f"{k} {v}" for k, v in zip(groups, key)) or None,
            )
        ax.set_xticks(range(len(models)), models, fontsize=8)
        ax.set_ylim(-0.05, 1.05)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_title(
            {"omega_sq": f"omega^2 ({factor})", "icc": f"ICC ({factor} share, REML)"}.get(
                index, index
            ),
            fontsize=10,
        )
        if groups:
            ax.legend(fontsize=8)
    what = "initialization" if factor == "initializer" else f"the {factor}"
    fig.suptitle(
        f"Sensitivity to {what}, 95% CIs (ω²: exact noncentral F; ICC: parametric bootstrap)",
        fontsize=11,
    )
    fig.tight_layout()
    return _save(fig, dest)


def learning_curves(analysis: Analysis, dest: Path) -> Path:
    """Median (line) and interquartile range (band) of the validation curve per initializer (the
    factor).
    """
    curves, factor = analysis.tables["learning_curves"], analysis.factor
    inits = sorted(curves[factor].unique())
    fig = None
    for fig, ax, cell, title in _panels(analysis, curves):  # noqa: B007 (the last figure is saved below)
        for k, init in enumerate(inits):
            c = cell[cell[factor] == init]
            ax.plot(c["epoch"], c["median"], color=COLORS[k % 10], label=init, lw=1.4)
            ax.fill_between(c["epoch"], c["q1"], c["q3"], color=COLORS[k % 10], alpha=0.2, lw=0)
        _scale(ax, cell[["q1", "q3"]].to_numpy(np.float64).ravel())
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.set_ylabel(curves["value"].iloc[0], fontsize=8)
    assert fig is not None, "no panel to draw"
    fig.axes[0].legend(fontsize=7)
    fig.suptitle(f"Validation curves: median and IQR over {analysis.replicate}s", fontsize=11)
    fig.tight_layout()
    return _save(fig, dest)
