"""The whole analysis of one results table: every per-cell and across-cell table, and what could not
be done.

:func:`analyze` is what ``initsens analyze`` runs: failed runs are counted and tested, then left out
of every fit; a cell that cannot be analyzed is named in ``notes`` and skipped. Models' objectives
live on different scales, so the across-cell fits are also made on the metric standardized within
each model (the docs' :doc:`Analyze a sweep </guide/analyze>` page).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from initsens.analysis.association import spearman
from initsens.analysis.cells import cell_label, cell_mask, iter_cells
from initsens.analysis.convergence import convergence
from initsens.analysis.descriptives import describe
from initsens.analysis.design import Design
from initsens.analysis.factorial import factorial_anova
from initsens.analysis.failures import failed_mask, failures
from initsens.analysis.mixed import initializer_lrt, mixed_model
from initsens.analysis.oneway import oneway
from initsens.analysis.posthoc import improvement, letters, pairwise
from initsens.analysis.sensitivity import sensitivity
from initsens.analysis.variance import variance_components
from initsens.errors import InitsensError
from initsens.results.schema import COMMON_VALIDATION

#: Metrics with one definition for every model (compared across models as they are).
COMMON_METRICS = frozenset({*(f"val_{name}" for name in COMMON_VALIDATION), "ari"})
#: Metrics where higher is better (also with a val_/valid_/test_/eval_ prefix); any other is taken
#: as a loss.
HIGHER_IS_BETTER = frozenset(
    {
        "ari",
        "nmi",
        "accuracy",
        "acc",
        "auc",
        "auroc",
        "roc_auc",
        "f1",
        "r2",
        "precision",
        "recall",
        "map",
        "bleu",
        "reward",
        "return",
    }
)
#: The post-hoc method the letters, best sets and claims use: Games-Howell, valid whether or not
#: spreads differ.
SELECTED_POSTHOC = "games_howell"


@dataclass
class Analysis:
    """Tables (name -> tidy DataFrame), the design, and notes on what was skipped and why.

    ``factor`` is the column whose effect is measured, ``replicate`` the column of replicate ids
    (seeds), and ``cell_keys`` the columns that define a cell; the first of them is the one the
    sensitivity ranking ranks.
    """

    metric: str
    cell_keys: list[str]
    factors: list[str]
    higher_is_better: bool
    runs: pd.DataFrame
    epochs: pd.DataFrame | None
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    #: Bootstrap replicates of the sensitivity indices per cell: {"omega_sq": {cell keys: draws},
    #: "icc": ...}
    draws: dict[str, dict[tuple, np.ndarray]] = field(default_factory=dict)
    factor: str = "initializer"
    replicate: str = "seed"


def metric_higher_is_better(metric: str) -> bool:
    """The direction of a metric, from its name (``HIGHER_IS_BETTER``, case-insensitive, split
    prefixes removed).
    """
    name = base_metric(metric).lower()
    for prefix in ("val_", "valid_", "test_", "eval_", "train_"):
        name = name.removeprefix(prefix)
    return name in HIGHER_IS_BETTER


def base_metric(metric: str) -> str:
    """The trainer's column behind a transformed metric: ``log10(val_nelbo)`` -> ``val_nelbo``."""
    return (
        metric[len("log10(") : -1]
        if metric.startswith("log10(") and metric.endswith(")")
        else metric
    )


def holm(p_values: pd.Series) -> pd.Series:
    """Holm-adjusted p-values (NaN entries stay NaN and do not count in the family): the i-th
    smallest of m times m - i + 1, made monotone and capped at 1 (statsmodels'
    ``multipletests(method="holm")`` gives the same numbers, and runs a full garbage collection per
    call, 0.2 s in a large process).

    >>> holm(pd.Series([0.01, 0.04, np.nan, 0.03])).round(2).tolist()
    [0.03, 0.06, nan, 0.06]
    """
    out = pd.Series(np.nan, index=p_values.index)
    finite = p_values.notna().to_numpy()
    p = p_values.to_numpy(np.float64)[finite]
    order = np.argsort(p, kind="stable")
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(
        1.0, np.maximum.accumulate((p.size - np.arange(p.size)) * p[order])
    )
    out[finite] = adjusted
    return out


def _check_cells(analysis: Analysis, usable: pd.DataFrame) -> pd.DataFrame:
    """The usable rows of the cells that can be analyzed; a note for each cell that cannot."""
    keep, factor = [], analysis.factor
    notes, metric, replicate = analysis.notes, analysis.metric, analysis.replicate
    for keys, cell in iter_cells(analysis.runs, analysis.cell_keys):
        label = cell_label(dict(zip(analysis.cell_keys, keys)))
        rows = usable.loc[usable.index.intersection(cell.index)]
        sizes = rows.groupby(factor).size()
        if rows.empty:
            notes.append(
                f"{label}: no usable runs (all failed or the metric is missing); not analyzed"
            )
        elif len(sizes) < 2:
            notes.append(
                f"{label}: only one {factor} ({sizes.index[0]}) has usable runs; not analyzed"
            )
        elif (sizes < 2).all():
            notes.append(
                f"{label}: a single {replicate} per {factor} leaves no within-{factor} variation; "
                "not analyzed (train more --repeats)"
            )
        elif np.ptp(rows[metric].to_numpy()) == 0:
            notes.append(
                f"{label}: {metric} is the same in every run (zero variance); not analyzed"
            )
        else:
            if (sizes < 2).any():
                notes.append(
                    f"{label}: {factor}(s) {', '.join(sizes.index[sizes < 2])} have one usable "
                    "run; post-hoc tests skip this cell"
                )
            keep.append(rows)
    return pd.concat(keep) if keep else usable.iloc[:0]


def best_levels(
    means: pd.Series, significant: Sequence[tuple[str, str]], higher_is_better: bool = False
) -> set:
    """The level with the best mean and every level whose difference from it is not significant: the
    levels the data cannot separate from the best (not levels shown to be as good). Taken from the
    pairs with the best level itself: a compact letter display can give a level not separated from
    the best another letter than 'a'.
    """
    best = means.idxmax() if higher_is_better else means.idxmin()
    separated = {b if a == best else a for a, b in significant if best in (a, b)}
    return {level for level in means.index if level not in separated}


def _per_cell(
    analysis: Analysis,
    data: pd.DataFrame,
    *,
    n_boot: int,
    n_boot_icc: int,
    alpha: float,
    random_state: int,
    step: Callable[[str], None],
) -> None:
    metric, by, tables, factor = (
        analysis.metric,
        analysis.cell_keys,
        analysis.tables,
        analysis.factor,
    )
    step("one-way ANOVA per cell")
    omega: dict[tuple, np.ndarray] = {}
    table = oneway(
        data,
        metric,
        by=by,
        factor=factor,
        n_boot=n_boot,
        random_state=random_state,
        draws_out=omega,
    )
    for column in ("p_value", "welch_p", "kruskal_p", "bf_p"):
        table["p_holm" if column == "p_value" else f"{column}_holm"] = holm(table[column])
    tables["oneway_anova"] = table
    step("post-hoc comparisons")
    posthoc = pairwise(data, metric, by=by, factor=factor, alpha=alpha)
    if len(
        posthoc
    ):  # Games-Howell whatever the spreads: a variance pretest misses 60-200x differences at n = 10
        posthoc["selected"] = posthoc["method"].to_numpy() == SELECTED_POSTHOC
    tables["posthoc"] = posthoc
    tables["improvement"] = improvement(
        data,
        metric,
        by=by,
        factor=factor,
        replicate=analysis.replicate,
        n_boot=n_boot,
        random_state=random_state,
        higher_is_better=analysis.higher_is_better,
    )
    desc = tables["descriptives"]
    desc["letters"], desc["best"] = "", False
    significant = posthoc[posthoc["selected"] & posthoc["reject"]] if len(posthoc) else posthoc
    for keys, cell in iter_cells(data, by):
        sel = dict(zip(by, keys))
        means = cell.groupby(factor)[metric].mean()
        sig = []
        if len(significant):
            rows = significant[cell_mask(significant, sel)]
            sig = list(zip(rows["group1"], rows["group2"]))
        display = letters(means, sig, analysis.higher_is_better)
        mask = cell_mask(desc, sel) & desc[factor].isin(display.index)
        desc.loc[mask, "letters"] = desc.loc[mask, factor].map(display)
        desc.loc[mask, "best"] = desc.loc[mask, factor].isin(
            best_levels(means, sig, analysis.higher_is_better)
        )
    icc: dict[tuple, np.ndarray] = {}
    step("variance components (REML, parametric bootstrap)")
    tables["variance_components"] = variance_components(
        data,
        metric,
        by=by,
        factor=factor,
        replicate=analysis.replicate,
        n_boot=n_boot_icc,
        random_state=random_state,
        draws_out=icc,
    )
    seeds = {
        keys: int(cell.groupby(factor)[analysis.replicate].nunique().min())
        for keys, cell in iter_cells(data, by)
    }
    tables["sensitivity"] = sensitivity(
        table, tables["variance_components"], omega, icc, by, seeds, factor=factor
    )
    analysis.draws = {"omega_sq": omega, "icc": icc}


def _variants(analysis: Analysis, data: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, table with the column ``label``) for each version of the metric fitted across
    cells.
    """
    metric, within = analysis.metric, analysis.cell_keys[0]
    variants = [(metric, data)]
    if (
        within == "model"
        and base_metric(metric) not in COMMON_METRICS
        and data["model"].nunique() > 1
    ):
        grouped = data.groupby("model")[metric]
        z = (data[metric] - grouped.transform("mean")) / grouped.transform("std")
        label = f"{metric} (z within model)"
        variants.append((label, data.assign(**{label: z})))
    return variants


def _complete(analysis: Analysis, data: pd.DataFrame) -> pd.DataFrame | None:
    """The rows on which the full factorial is estimable, or None (with a note) when there are none.

    Initializers without usable runs in some cell (e.g. one that diverges in a single model) are
    left out of the across-cell models; if a combination of factor levels is still empty, the full
    factorial is not estimable and only the per-cell analyses stand.
    """
    factor = analysis.factor
    cells = [k for k in analysis.factors if k != factor]
    n_cells = len(data.groupby(cells))
    present = data.groupby(factor)[cells].apply(lambda g: len(g.drop_duplicates()))
    dropped = sorted(present.index[present < n_cells])
    if dropped:
        analysis.notes.append(
            f"across cells: {factor}(s) {', '.join(dropped)} left out of the factorial ANOVA "
            "and the mixed model (no usable runs in some cell)"
        )
        data = data[~data[factor].isin(dropped)]
    levels = [data[f].nunique() for f in analysis.factors]
    if data.empty or len(data.groupby(analysis.factors)) < int(np.prod(levels)):
        analysis.notes.append(
            "across cells: some combination of "
            + " x ".join(analysis.factors)
            + " has no usable runs, so the full-factorial models are not estimable; "
            "see the per-cell analyses"
        )
        return None
    return data


#: A term's sum of squares below this share of the total is 0 up to rounding.
ROUNDING_ZERO = 1e-9


def zero_by_construction(table: pd.DataFrame, within: str) -> pd.DataFrame:
    """``table`` (a factorial ANOVA of the metric standardized within each ``within`` level) with
    the ``within`` main effect marked when it is 0 up to rounding: every level's mean is 0 by
    construction there (in a balanced design), so SS 0, F 0 and p 1 say nothing about the data. Its
    numbers become NaN and ``undefined`` says why.
    """
    table = table.copy()
    total = table.groupby("typ")["sum_sq"].transform("sum")
    zero = (table["term"] == within) & (table["sum_sq"].abs() <= ROUNDING_ZERO * total)
    table.loc[zero, ["sum_sq", "f", "p_value", "partial_eta_sq"]] = np.nan
    table.loc[zero, "undefined"] = (
        f"zero by construction: standardized within each {within}, every {within}'s mean is 0"
    )
    return table


def _across_cells(analysis: Analysis, data: pd.DataFrame) -> None:
    factorial, mixed, lrt = [], [], []
    data = _complete(analysis, data)
    if data is None:
        for name in ("factorial_anova", "mixed_model", "mixed_model_lrt"):
            analysis.tables[name] = pd.DataFrame()
        return
    for label, frame in _variants(analysis, data):
        try:
            anova = factorial_anova(frame, label, analysis.factors).assign(undefined="")
            factorial.append(
                zero_by_construction(anova, analysis.cell_keys[0])
                if label != analysis.metric
                else anova
            )
        except (InitsensError, ValueError, np.linalg.LinAlgError) as exc:
            analysis.notes.append(f"factorial ANOVA on {label}: {exc}")
        if frame[analysis.replicate].nunique() < 2:
            analysis.notes.append(
                f"mixed model on {label}: needs at least two {analysis.replicate}s; skipped"
            )
            continue
        try:
            mixed.append(
                mixed_model(frame, label, factors=analysis.factors, replicate=analysis.replicate)
            )
            lrt.append(
                initializer_lrt(
                    frame,
                    label,
                    factors=analysis.factors,
                    replicate=analysis.replicate,
                    factor=analysis.factor,
                )
            )
        except (InitsensError, ValueError, np.linalg.LinAlgError) as exc:
            analysis.notes.append(f"mixed model on {label}: {exc}")
    analysis.tables["factorial_anova"] = (
        pd.concat(factorial, ignore_index=True) if factorial else pd.DataFrame()
    )
    analysis.tables["mixed_model"] = (
        pd.concat(mixed, ignore_index=True) if mixed else pd.DataFrame()
    )
    analysis.tables["mixed_model_lrt"] = (
        pd.concat(lrt, ignore_index=True) if lrt else pd.DataFrame()
    )


def log_metric(runs: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, str]:
    """``runs`` with a ``log10(<metric>)`` column, and that column's name.

    For metrics spanning many decades (a diverging initializer's loss can be 10^11 times the
    others'), where sums of squares on the raw scale are dominated by a few runs. Non-finite values
    stay non-finite (failures); a value <= 0 is an error, since its logarithm does not exist.
    """
    values = runs[metric].to_numpy(np.float64)
    bad = np.isfinite(values) & (values <= 0)
    if bad.any():
        example = (
            runs.loc[bad, "run_id"].iloc[0]
            if "run_id" in runs.columns
            else int(np.flatnonzero(bad)[0])
        )
        raise InitsensError(
            f"--log needs positive values, but {int(bad.sum())} value(s) of {metric!r} are <= 0 "
            f"(e.g. {values[bad][0]:g} in run {example}); analyze it without --log"
        )
    name = f"log10({metric})"
    with np.errstate(divide="ignore", invalid="ignore"):
        return runs.assign(**{name: np.log10(values)}), name


def learning_curves(
    epochs: pd.DataFrame,
    runs: pd.DataFrame,
    cell_keys: Sequence[str],
    value: str = "val_loss",
    factor: str = "initializer",
) -> pd.DataFrame:
    """Median and quartiles of ``value`` per cell, ``factor`` level and epoch (runs joined on
    run_id).
    """
    keys = [*cell_keys, factor]
    joined = epochs.merge(runs[["run_id", *keys]], on="run_id", how="inner")
    joined = joined[np.isfinite(pd.to_numeric(joined[value], errors="coerce"))]
    grouped = joined.groupby([*keys, "epoch"], sort=True)[value]
    return (
        grouped.quantile([0.25, 0.5, 0.75])
        .unstack()
        .rename(columns={0.25: "q1", 0.5: "median", 0.75: "q3"})
        .reset_index()
        .assign(n=grouped.size().to_numpy(), value=value)
    )


def check_options(alpha: float, n_boot: int, n_boot_icc: int) -> None:
    """One-line errors for a significance level outside (0, 1) or fewer than one resample (named as
    the command line names them: the API's arguments carry the same names without dashes).
    """
    if not 0.0 < alpha < 1.0:
        raise InitsensError(f"--alpha must lie strictly between 0 and 1, got {alpha}")
    if n_boot < 1 or n_boot_icc < 1:
        raise InitsensError("--n-boot and --n-boot-icc must be at least 1")


def analyze(
    runs: pd.DataFrame,
    metric: str = "val_loss",
    epochs: pd.DataFrame | None = None,
    *,
    n_boot: int = 2000,
    n_boot_icc: int = 500,
    alpha: float = 0.05,
    random_state: int = 0,
    higher_is_better: bool | None = None,
    on_step: Callable[[str], None] | None = None,
    design: Design = Design(),
) -> Analysis:
    """Every table of the report for one runs table (see the module docstring); ``design`` names the
    factor, cell and replicate columns (initsens' own by default).

    ``on_step`` is called with a short description before each stage (for progress displays).

    Returns
    -------
    Analysis
        ``tables`` by name: ``convergence``, ``failures``, ``descriptives``, ``oneway_anova``,
        ``posthoc``, ``improvement``, ``variance_components``, ``sensitivity``, ``factorial_anova``,
        ``mixed_model``, ``mixed_model_lrt`` and, with the data for them, ``association`` and
        ``learning_curves`` (their columns: the functions that make them, and README's Analysis
        section); ``notes`` on what could not be done.

    Examples
    --------
    >>> from initsens.analysis.examples import toy_runs
    >>> result = analyze(toy_runs(), n_boot=100, n_boot_icc=20)
    >>> result.tables["sensitivity"].query("index == 'omega_sq'")[["model", "rank", "resolved"]]
            model  rank  resolved
    0        IWAE     1      True
    1  VanillaVAE     2     False
    """
    check_options(alpha, n_boot, n_boot_icc)
    step = on_step or (lambda _: None)
    cell_keys = design.cell_keys(runs)
    factor = design.factor
    factors = [cell_keys[0], factor, *cell_keys[1:]]
    analysis = Analysis(
        metric,
        cell_keys,
        factors,
        metric_higher_is_better(metric) if higher_is_better is None else higher_is_better,
        runs.assign(failed=failed_mask(runs, metric)),
        epochs,
        factor=factor,
        replicate=design.replicate,
        settings={
            "n_boot": n_boot,
            "n_boot_icc": n_boot_icc,
            "alpha": alpha,
            "random_state": random_state,
        },
    )
    tables = analysis.tables
    step("failures")
    tables["convergence"] = convergence(runs, cell_keys, factor)
    tables["failures"] = failures(runs, metric, by=cell_keys, factor=factor)
    per_cell_p = tables["failures"].groupby(cell_keys)["fisher_p"].first()
    tables["failures"] = tables["failures"].merge(
        holm(per_cell_p).rename("fisher_p_holm").reset_index(), on=cell_keys
    )
    usable = analysis.runs[~analysis.runs["failed"]]
    data = _check_cells(analysis, usable)
    tables["descriptives"] = describe(usable, metric, by=cell_keys, factor=factor)
    if data.empty:
        raise InitsensError(
            f"no cell of {' x '.join(cell_keys)} can be analyzed on {metric!r}: "
            + "; ".join(analysis.notes)
        )
    _per_cell(
        analysis,
        data,
        n_boot=n_boot,
        n_boot_icc=n_boot_icc,
        alpha=alpha,
        random_state=random_state,
        step=step,
    )
    step("factorial ANOVA and mixed model across cells")
    _across_cells(analysis, data)
    if "ari" in runs.columns and metric != "ari" and usable["ari"].notna().any():
        table = spearman(usable, metric, "ari", by=cell_keys[:2])
        table["p_holm"] = holm(table["p_value"])
        tables["association"] = table
    if epochs is not None and "run_id" in runs.columns and "run_id" in epochs.columns:
        value = metric if metric in epochs.columns else "val_loss"
        if value in epochs.columns:
            tables["learning_curves"] = learning_curves(epochs, runs, cell_keys, value, factor)
    return analysis
