"""The analysis report's Summary: one sentence per finding, each made from the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from initsens.analysis.cells import cell_label
from initsens.analysis.convergence import CAPPED_WARNING, capped_cells
from initsens.analysis.study import Analysis
from initsens.report.format import ci, fmt

SEEDS_SHOWN_MAX = 1000  # beyond this, "more than 1000" (the extrapolation means little there)


def _label(a: Analysis, keys) -> str:
    """A cell's label from a groupby key (a scalar when there is one cell key)."""
    return cell_label(dict(zip(a.cell_keys, keys if isinstance(keys, tuple) else (keys,))))


def summary(a: Analysis) -> list[str]:
    """The Summary's sentences, each from one table."""
    return [
        *design_summary(a),
        *failures_summary(a),
        *convergence_summary(a),
        *caution_summary(a),
        *effect_summary(a),
        *sensitivity_summary(a),
        *best_summary(a),
        *association_summary(a),
    ]


def _seeds(a: Analysis) -> pd.Series:
    return a.runs.groupby([*a.cell_keys, a.factor])[a.replicate].nunique()


def _count(n: int, noun: str) -> str:
    """``1 model``, ``4 models``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def design_summary(a: Analysis) -> list[str]:
    """What was analyzed: runs, factor levels, cells and replicates."""
    runs, seeds, seed = a.runs, _seeds(a), a.replicate
    design = f"{_count(len(runs), 'run')}: " + " x ".join(
        _count(runs[c].nunique(), c) for c in a.factors
    )
    design += (
        f", {seeds.min()}–{seeds.max()} {seed}s per combination"
        if seeds.min() != seeds.max()
        else f", {_count(seeds.min(), seed)} per combination"
    )
    failed = int(runs["failed"].sum())
    return [
        f"- **Design.** {design}; {_count(failed, 'run')} failed (diverged, errored or without a "
        f"finite `{a.metric}`) and {'is' if failed == 1 else 'are'} left out of the fits."
    ]


def failures_summary(a: Analysis) -> list[str]:
    """How many runs failed, and where most did."""
    table_ = a.tables["failures"]
    if not int(a.runs["failed"].sum()):
        return []
    fails = table_.groupby(a.cell_keys).agg(
        n_failed=("n_failed", "sum"), p=("fisher_p_holm", "first")
    )
    hit = fails[fails["p"] < a.settings["alpha"]]
    by_init = table_.groupby(a.factor)["n_failed"].sum().sort_values(ascending=False)
    sentence = (
        f"- **Failures** by {a.factor}: {', '.join(f'{i} {n}' for i, n in by_init.items() if n)}."
    )
    if len(hit):
        sentence += (
            f" The failure rate depends on the {a.factor} (Fisher exact, Holm-adjusted p < "
            f"{a.settings['alpha']}) in {'; '.join(_label(a, k) for k in hit.index)}."
        )
    return [sentence]


def caution_summary(a: Analysis) -> list[str]:
    """A caution where some cell has few replicates."""
    fewest = _seeds(a).min()
    if fewest >= 5:
        return []
    return [
        f"- **Caution.** With {_count(fewest, a.replicate)} per combination the tests have little "
        "power and the intervals are wide (they are exact or conservative where stated in "
        "Methods; the sensitivity ranking's differences and the ICC's interval rest on bootstrap "
        "replicates of few values); train at least 10 (`initsens train --repeats 10`)."
    ]


#: A cell whose levels' standard deviations differ at least this much is judged by Welch's ANOVA in
#: the headline.
SPREAD_RATIO = 2.0


def unequal_spreads(a: Analysis) -> pd.Series:
    """Per row of the one-way table: whether the factor's levels' standard deviations differ at
    least :data:`SPREAD_RATIO`-fold (then Welch's ANOVA, not the classical F, answers whether the
    means differ).
    """
    ow, desc = a.tables["oneway_anova"], a.tables["descriptives"]
    ratio = desc.groupby(list(a.cell_keys))["sd"].agg(
        lambda sd: sd.max() / sd.min() if sd.min() > 0 else np.inf
    )
    keys = [tuple(r) for r in ow[list(a.cell_keys)].itertuples(index=False)]
    return pd.Series(
        [bool(ratio.get(k if len(k) > 1 else k[0], 1.0) >= SPREAD_RATIO) for k in keys],
        index=ow.index,
    )


def effect_summary(a: Analysis) -> list[str]:
    """Where the factor's effect is significant, and how large it is."""
    ow, alpha = a.tables["oneway_anova"], a.settings["alpha"]
    welch = unequal_spreads(a)
    trusted = np.where(welch, ow["welch_p_holm"], ow["p_holm"])
    sig, classical, robust = (
        int((trusted < alpha).sum()),
        int((ow["p_holm"] < alpha).sum()),
        int((ow["welch_p_holm"] < alpha).sum()),
    )
    which = (
        "Welch's ANOVA in every cell (the initializers' spreads differ at least "
        f"{SPREAD_RATIO:g}-fold in each)"
        if welch.all()
        else "the classical ANOVA in every cell (no cell's spreads differ 2-fold)"
        if not welch.any()
        else f"Welch's ANOVA in the {int(welch.sum())} cell(s) whose spreads differ at least "
        f"{SPREAD_RATIO:g}-fold, the classical ANOVA in the others"
    )
    return [
        f"- **{a.factor[:1].upper() + a.factor[1:]} effect.** In {sig} of {len(ow)} cells "
        f"({' x '.join(a.cell_keys)}) the {a.factor} changes the mean `{a.metric}` (Holm-adjusted "
        f"p < {alpha}), judged by {which}, because the classical F assumes equal spreads. The "
        f"classical ANOVA alone finds it in {classical}, Welch's in {robust}."
    ]


def sensitivity_summary(a: Analysis) -> list[str]:
    """Per group and index: the most sensitive model (first cell column) when resolved, else what
    would resolve it.
    """
    out, sens = [], a.tables["sensitivity"]
    ranked, factor, seed = a.cell_keys[0], a.factor, a.replicate
    for index, name in (("omega_sq", "ω²"), ("icc", "ICC")):
        top = sens[(sens["index"] == index) & (sens["rank"] == 1)] if len(sens) else sens
        for _, row in top.iterrows():
            where = ", ".join(f"{k} {row[k]}" for k in a.cell_keys[1:])
            head = (
                f"- **Most sensitive ({name}), {where}:** "
                if where
                else f"- **Most sensitive ({name}):** "
            )
            if pd.isna(row[f"next_{ranked}"]):
                out.append(head + f"{row[ranked]} is the only analyzable {ranked}.")
            elif row["resolved"]:
                out.append(
                    head + f"{row[ranked]} ({name} = {fmt(row['value'], 3)}, 95% CI "
                    f"{ci(row['ci_low'], row['ci_high'])}), ahead of {row[f'next_{ranked}']} by "
                    f"{fmt(row['diff_next'], 3)} (95% CI "
                    f"{ci(row['diff_ci_low'], row['diff_ci_high'])})."
                )
            else:
                needed = row["seeds_needed"]
                more = (
                    f" How many {seed}s would: cannot say from {row['seeds']} {seed}s (see "
                    "Methods)."
                    if row.get("seeds_note")
                    else ""
                    if pd.isna(needed)
                    else f" About {int(needed)} {seed}s per {factor} (now {row['seeds']}) would "
                    "likely resolve it."
                    if needed <= SEEDS_SHOWN_MAX
                    else f" No number of {seed}s would: the difference is 0 or next to it."
                    if np.isinf(needed)
                    else f" Even {SEEDS_SHOWN_MAX} {seed}s per {factor} would likely not (now "
                    f"{row['seeds']})."
                )
                out.append(
                    head + f"not resolved by these data: {row[ranked]} has the largest {name} "
                    f"({fmt(row['value'], 3)}), but its difference from {row[f'next_{ranked}']} "
                    f"({fmt(row['diff_next'], 3)}, 95% CI "
                    f"{ci(row['diff_ci_low'], row['diff_ci_high'])}) includes 0.{more}"
                )
    return out


def _span(values: pd.Series) -> str:
    """``3`` or ``2–3``: the smallest and largest of a count."""
    low, high = int(values.min()), int(values.max())
    return str(low) if low == high else f"{low}–{high}"


def best_summary(a: Analysis) -> list[str]:
    """Per cell: the level with the best mean and the levels the data cannot separate from it (a set
    that holds the cell's worst mean, or every level, says so: it is not a set of best levels).
    """
    desc = a.tables["descriptives"]
    if "best" not in desc or not desc["best"].any():
        return []
    higher, parts = a.higher_is_better, []
    for keys, cell in desc.groupby(a.cell_keys, sort=True):
        if not cell["best"].any():
            continue
        order = cell.sort_values("mean", ascending=not higher, kind="stable")
        best, worst = order[a.factor].iloc[0], order[a.factor].iloc[-1]
        close = [level for level in order[order["best"]][a.factor] if level != best]
        label = _label(a, keys)
        if len(close) == len(order) - 1 and close:
            parts.append(
                f"{label}: cannot separate any: all {len(order)} are within noise of the best "
                f"({best}) with {_span(cell['n'])} {a.replicate}s"
            )
        elif close:
            parts.append(
                f"{label}: {best}; not separated from it: {', '.join(close)}"
                + (f" ({worst} has the cell's worst mean)" if worst in close else "")
            )
        else:
            parts.append(f"{label}: {best}; every other significantly worse")
    return [
        f"- **Best {a.factor} and those the data cannot separate from it** "
        f"({'highest' if higher else 'lowest'} mean `{a.metric}`; Games-Howell at α = "
        f"{a.settings['alpha']}: not separated is not shown to be as "
        "good): " + "; ".join(parts) + "."
    ]


def association_summary(a: Analysis) -> list[str]:
    """How the metric tracks the downstream score, where one was measured."""
    if "association" not in a.tables:
        return []
    table_, ranked = a.tables["association"], a.cell_keys[0]
    whole = table_[(table_[a.cell_keys[1]] == "all")] if len(a.cell_keys) > 1 else table_
    parts = [
        f"{row[ranked]} ρ = {fmt(row['rho'], 2)} {ci(row['ci_low'], row['ci_high'])}"
        if not pd.isna(row["rho"])
        else f"{row[ranked]}: – ({row.get('undefined') or 'undefined'})"
        for _, row in whole.iterrows()
    ]
    if not parts:
        return []
    return [
        f"- **Loss vs downstream clustering (ARI)**, Spearman: {'; '.join(parts)}. A negative ρ "
        "means a lower loss goes with a better clustering."
    ]


def convergence_summary(a: Analysis) -> list[str]:
    """One sentence on runs that reached the epoch cap (a warning when a cell has more than 10% of
    them).
    """
    conv = a.tables.get("convergence")
    if conv is None or conv.empty:
        return []
    n, capped = int(conv["n_finished"].sum()), int(conv["n_capped"].sum())
    worst = capped_cells(conv, a.cell_keys)
    if len(worst):
        cells = "; ".join(
            f"{cell_label({k: r[k] for k in a.cell_keys})} {r.capped_share:.0%}"
            for _, r in worst.iterrows()
        )
        return [
            f"- **Warning: not converged.** {capped} of {n} finished runs ({capped / n:.0%}) "
            f"reached the epoch cap while still improving; more than {CAPPED_WARNING:.0%} in "
            f"{cells}. Their numbers describe unconverged models: train again with a higher "
            "`--epochs` (a new cap gives new run ids, so those runs are trained anew)."
        ]
    return [
        f"- **Convergence.** {capped} of {n} finished runs ({capped / n:.0%}) reached the epoch "
        f"cap; no cell has more than {CAPPED_WARNING:.0%}."
    ]
