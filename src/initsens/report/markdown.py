"""The Markdown report: a Summary whose sentences come from the numbers, then the tables behind them."""

from __future__ import annotations

import math
import platform
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from initsens.analysis.cells import cell_label, cell_mask, iter_cells
from initsens.analysis.convergence import CAPPED_WARNING, capped_cells
from initsens.analysis.study import COMMON_METRICS, Analysis, base_metric

SEEDS_SHOWN_MAX = 1000  # beyond this, "more than 1000" (the extrapolation means little there)


def fmt(value, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; scientific notation when very large or small."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    value = float(value)
    if abs(value) < 1e-12:  # rounding noise around an exact 0 (e.g. a bootstrap quantile)
        return "0"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def fmt_p(p) -> str:
    """p-values as journals print them: < 0.001 below that, else three decimals (two significant)."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def ci(low, high) -> str:
    """A confidence interval as ``[low, high]`` with three significant digits."""
    return f"[{fmt(low, 3)}, {fmt(high, 3)}]"


def table(frame: pd.DataFrame, columns: dict[str, str], p_columns: Sequence[str] = ()) -> str:
    """A Markdown table of ``frame``'s ``columns`` (name -> header), p-value columns formatted as such."""
    if frame.empty:
        return "_(nothing to show)_\n"
    header = "| " + " | ".join(columns.values()) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    lines = [header, rule]
    for _, row in frame.iterrows():
        cells = [fmt_p(row[c]) if c in p_columns else (str(row[c]) if isinstance(row[c], str) else fmt(row[c]))
                 for c in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _label(a: Analysis, keys) -> str:
    """A cell's label from a groupby key (a scalar when there is one cell key)."""
    return cell_label(dict(zip(a.cell_keys, keys if isinstance(keys, tuple) else (keys,))))


def _summary(a: Analysis) -> list[str]:
    """The Summary's sentences, each from one table."""
    return [*_design_summary(a), *_failures_summary(a), *_convergence_summary(a), *_caution_summary(a),
            *_effect_summary(a), *_sensitivity_summary(a), *_best_summary(a), *_association_summary(a)]


def _seeds(a: Analysis) -> pd.Series:
    return a.runs.groupby([*a.cell_keys, a.factor])[a.replicate].nunique()


def _count(n: int, noun: str) -> str:
    """``1 model``, ``4 models``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _design_summary(a: Analysis) -> list[str]:
    runs, seeds, seed = a.runs, _seeds(a), a.replicate
    design = f"{_count(len(runs), 'run')}: " + " x ".join(_count(runs[c].nunique(), c) for c in a.factors)
    design += f", {seeds.min()}–{seeds.max()} {seed}s per combination" if seeds.min() != seeds.max() else \
        f", {_count(seeds.min(), seed)} per combination"
    failed = int(runs["failed"].sum())
    return [f"- **Design.** {design}; {_count(failed, 'run')} failed (diverged, errored or without a finite "
            f"`{a.metric}`) and {'is' if failed == 1 else 'are'} left out of the fits."]


def _failures_summary(a: Analysis) -> list[str]:
    table_ = a.tables["failures"]
    if not int(a.runs["failed"].sum()):
        return []
    fails = table_.groupby(a.cell_keys).agg(n_failed=("n_failed", "sum"), p=("fisher_p_holm", "first"))
    hit = fails[fails["p"] < a.settings["alpha"]]
    by_init = table_.groupby(a.factor)["n_failed"].sum().sort_values(ascending=False)
    sentence = f"- **Failures** by {a.factor}: {', '.join(f'{i} {n}' for i, n in by_init.items() if n)}."
    if len(hit):
        sentence += (f" The failure rate depends on the {a.factor} (Fisher exact, Holm-adjusted p < "
                     f"{a.settings['alpha']}) in {'; '.join(_label(a, k) for k in hit.index)}.")
    return [sentence]


def _caution_summary(a: Analysis) -> list[str]:
    fewest = _seeds(a).min()
    if fewest >= 5:
        return []
    return [f"- **Caution.** With {_count(fewest, a.replicate)} per combination the tests have little power and "
            "the intervals are wide (they are exact or conservative where stated in Methods; the sensitivity "
            "ranking's differences and the ICC's interval rest on bootstrap replicates of few values); train at "
            "least 10 (`initsens train --repeats 10`)."]


#: A cell whose levels' standard deviations differ at least this much is judged by Welch's ANOVA in the headline.
SPREAD_RATIO = 2.0


def unequal_spreads(a: Analysis) -> pd.Series:
    """Per row of the one-way table: whether the factor's levels' standard deviations differ at least
    :data:`SPREAD_RATIO`-fold (then Welch's ANOVA, not the classical F, answers whether the means differ).
    """
    ow, desc = a.tables["oneway_anova"], a.tables["descriptives"]
    ratio = desc.groupby(list(a.cell_keys))["sd"].agg(lambda sd: sd.max() / sd.min() if sd.min() > 0 else np.inf)
    keys = [tuple(r) for r in ow[list(a.cell_keys)].itertuples(index=False)]
    return pd.Series([bool(ratio.get(k if len(k) > 1 else k[0], 1.0) >= SPREAD_RATIO) for k in keys],
                     index=ow.index)


def _effect_summary(a: Analysis) -> list[str]:
    ow, alpha = a.tables["oneway_anova"], a.settings["alpha"]
    welch = unequal_spreads(a)
    trusted = np.where(welch, ow["welch_p_holm"], ow["p_holm"])
    sig, classical, robust = int((trusted < alpha).sum()), int((ow["p_holm"] < alpha).sum()), \
        int((ow["welch_p_holm"] < alpha).sum())
    which = ("Welch's ANOVA in every cell (the initializers' spreads differ at least "
             f"{SPREAD_RATIO:g}-fold in each)" if welch.all() else
             "the classical ANOVA in every cell (no cell's spreads differ 2-fold)" if not welch.any() else
             f"Welch's ANOVA in the {int(welch.sum())} cell(s) whose spreads differ at least {SPREAD_RATIO:g}-fold, "
             "the classical ANOVA in the others")
    return [f"- **{a.factor[:1].upper() + a.factor[1:]} effect.** In {sig} of {len(ow)} cells "
            f"({' x '.join(a.cell_keys)}) the {a.factor} changes the mean `{a.metric}` (Holm-adjusted p < {alpha}), "
            f"judged by {which}, because the classical F assumes equal spreads. The classical ANOVA alone finds it "
            f"in {classical}, Welch's in {robust}."]


def _sensitivity_summary(a: Analysis) -> list[str]:
    """Per group and index: the most sensitive model (first cell column) when resolved, else what would resolve it."""
    out, sens = [], a.tables["sensitivity"]
    ranked, factor, seed = a.cell_keys[0], a.factor, a.replicate
    for index, name in (("omega_sq", "ω²"), ("icc", "ICC")):
        top = sens[(sens["index"] == index) & (sens["rank"] == 1)] if len(sens) else sens
        for _, row in top.iterrows():
            where = ", ".join(f"{k} {row[k]}" for k in a.cell_keys[1:])
            head = (f"- **Most sensitive ({name}), {where}:** " if where else f"- **Most sensitive ({name}):** ")
            if pd.isna(row[f"next_{ranked}"]):
                out.append(head + f"{row[ranked]} is the only analyzable {ranked}.")
            elif row["resolved"]:
                out.append(head + f"{row[ranked]} ({name} = {fmt(row['value'], 3)}, 95% CI "
                           f"{ci(row['ci_low'], row['ci_high'])}), ahead of {row[f'next_{ranked}']} by "
                           f"{fmt(row['diff_next'], 3)} (95% CI {ci(row['diff_ci_low'], row['diff_ci_high'])}).")
            else:
                needed = row["seeds_needed"]
                more = (f" How many {seed}s would: cannot say from {row['seeds']} {seed}s (see Methods)."
                        if row.get("seeds_note") else
                        "" if pd.isna(needed) else
                        f" About {int(needed)} {seed}s per {factor} (now {row['seeds']}) would likely resolve it."
                        if needed <= SEEDS_SHOWN_MAX else
                        f" No number of {seed}s would: the difference is 0 or next to it."
                        if np.isinf(needed) else
                        f" Even {SEEDS_SHOWN_MAX} {seed}s per {factor} would likely not (now {row['seeds']}).")
                out.append(head + f"not resolved by these data: {row[ranked]} has the largest {name} "
                           f"({fmt(row['value'], 3)}), but its difference from {row[f'next_{ranked}']} "
                           f"({fmt(row['diff_next'], 3)}, 95% CI {ci(row['diff_ci_low'], row['diff_ci_high'])}) "
                           f"includes 0.{more}")
    return out


def _best_summary(a: Analysis) -> list[str]:
    desc = a.tables["descriptives"]
    best = desc[desc["best"]].groupby(a.cell_keys)[a.factor].apply(lambda s: ", ".join(s))
    if not len(best):
        return []
    return [f"- **Best {a.factor}(s)** ({'highest' if a.higher_is_better else 'lowest'} mean and those not "
            "significantly worse): "
            + "; ".join(f"{_label(a, k)}: {v}" for k, v in best.items()) + "."]


def _association_summary(a: Analysis) -> list[str]:
    if "association" not in a.tables:
        return []
    table_, ranked = a.tables["association"], a.cell_keys[0]
    whole = table_[(table_[a.cell_keys[1]] == "all")] if len(a.cell_keys) > 1 else table_
    parts = [f"{row[ranked]} ρ = {fmt(row['rho'], 2)} {ci(row['ci_low'], row['ci_high'])}"
             for _, row in whole.iterrows() if not pd.isna(row["rho"])]
    if not parts:
        return []
    return [f"- **Loss vs downstream clustering (ARI)**, Spearman: {'; '.join(parts)}. A negative ρ means "
            "a lower loss goes with a better clustering."]


def _convergence_summary(a: Analysis) -> list[str]:
    """One sentence on runs that reached the epoch cap (a warning when a cell has more than 10% of them)."""
    conv = a.tables.get("convergence")
    if conv is None or conv.empty:
        return []
    n, capped = int(conv["n_finished"].sum()), int(conv["n_capped"].sum())
    worst = capped_cells(conv, a.cell_keys)
    if len(worst):
        cells = "; ".join(f"{cell_label({k: r[k] for k in a.cell_keys})} {r.capped_share:.0%}"
                          for _, r in worst.iterrows())
        return [f"- **Warning: not converged.** {capped} of {n} finished runs ({capped / n:.0%}) reached the epoch "
                f"cap while still improving; more than {CAPPED_WARNING:.0%} in {cells}. Their numbers describe "
                "unconverged models: train again with a higher `--epochs` (a new cap gives new run ids, so those "
                "runs are trained anew)."]
    return [f"- **Convergence.** {capped} of {n} finished runs ({capped / n:.0%}) reached the epoch cap; "
            f"no cell has more than {CAPPED_WARNING:.0%}."]


def _convergence_table(a: Analysis) -> str:
    conv = a.tables["convergence"]
    wide = conv.assign(cell=conv["n_capped"].astype(str) + "/" + conv["n_finished"].astype(str)).pivot_table(
        index=a.cell_keys, columns=a.factor, values="cell", aggfunc="first").reset_index()
    share = conv.groupby(a.cell_keys)[["n_finished", "n_capped"]].sum()
    wide = wide.merge((share["n_capped"] / share["n_finished"]).rename("share").reset_index(), on=a.cell_keys)
    inits = sorted(conv[a.factor].unique())
    return table(wide, {**{k: k for k in a.cell_keys}, **{i: i for i in inits}, "share": "capped share"})


def _failures_table(a: Analysis) -> str:
    f = a.tables["failures"]
    wide = f.assign(cell=f["n_failed"].astype(str) + "/" + f["n_runs"].astype(str)).pivot_table(
        index=a.cell_keys, columns=a.factor, values="cell", aggfunc="first").reset_index()
    p = f.groupby(a.cell_keys)[["fisher_p", "fisher_p_holm"]].first().reset_index()
    wide = wide.merge(p, on=a.cell_keys)
    inits = sorted(f[a.factor].unique())
    return table(wide, {**{k: k for k in a.cell_keys}, **{i: i for i in inits}, "fisher_p": "Fisher p",
                        "fisher_p_holm": "Holm"}, p_columns=("fisher_p", "fisher_p_holm"))


def _section_cells(a: Analysis) -> list[str]:
    out = []
    desc, ow, ph = a.tables["descriptives"], a.tables["oneway_anova"], a.tables["posthoc"]
    for keys, cell in iter_cells(desc, a.cell_keys):
        sel = dict(zip(a.cell_keys, keys))
        out.append(f"### {cell_label(sel)}\n")
        out.append(table(cell, {a.factor: a.factor, "n": "n", "mean": "mean", "sd": "sd",
                                "median": "median", "iqr": "IQR", "ci_low": "95% CI low", "ci_high": "95% CI high",
                                "letters": "group"}))
        row = ow[cell_mask(ow, sel)]
        if row.empty:
            out.append("_Not analyzed (see Data & design)._\n")
            continue
        r = row.iloc[0]
        bf = (f"Brown-Forsythe F = {fmt(r['bf_f'])}, p {fmt_p(r['bf_p'])}" if np.isfinite(r["bf_f"])
              else "Brown-Forsythe F undefined")
        anova = (f"F({fmt(r['df_between'])}, {fmt(r['df_within'])}) = {fmt(r['f'])}, p {fmt_p(r['p_value'])} "
                 f"(Holm {fmt_p(r['p_holm'])})" if np.isfinite(r["f"]) else "F undefined")
        out.append(f"One-way ANOVA: {anova}; η² = {fmt(r['eta_sq'], 3)}, ω² = {fmt(r['omega_sq'], 3)}; the variance "
                   f"share both estimate {ci(r['omega_sq_ci_low'], r['omega_sq_ci_high'])} (exact 95% CI). "
                   f"Welch F({fmt(r['welch_df1'], 3)}, {fmt(r['welch_df2'], 3)}) = {fmt(r['welch_f'])}, "
                   f"p {fmt_p(r['welch_p'])}; Kruskal-Wallis H = {fmt(r['kruskal_h'])}, p {fmt_p(r['kruskal_p'])}; "
                   f"{bf}.\n" + (f"Undefined at this size: {r['undefined']}.\n" if r.get("undefined") else ""))
        if len(ph):
            sub = ph[cell_mask(ph, sel) & ph["selected"]]
            if len(sub):
                out.append(f"Post-hoc ({sub['method'].iloc[0].replace('_', '-')}), significant pairs: " + (", ".join(
                    f"{x.group1} − {x.group2} = {fmt(x.mean_diff, 3)} (p {fmt_p(x.p_adj)})"
                    for x in sub.itertuples() if x.reject) or "none") + ".\n")
    return out


def section_header(a: Analysis, version: str) -> list[str]:
    """The title, the generation line and the metric's direction."""
    title = "Initialization" if a.factor == "initializer" else a.factor[:1].upper() + a.factor[1:]
    return [f"# {title} sensitivity report: `{a.metric}`\n",
            f"_Generated by initsens {version} on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}. "
            f"{'Higher' if a.higher_is_better else 'Lower'} `{a.metric}` is better._\n"]


def section_summary(a: Analysis) -> list[str]:
    """The Summary: one sentence per finding, each from one table."""
    return ["## Summary\n", *_summary(a), ""]


def section_design(a: Analysis, figures: dict[str, str], warnings: Sequence[str]) -> list[str]:
    """Cells and factors, failures per factor level, capped runs, notes and the metric's figure."""
    t, factor = a.tables, a.factor
    lines = ["## Data & design\n",
             f"Cells are {' x '.join(a.cell_keys)}; factors across cells: {', '.join(a.factors)}.\n",
             f"Failed runs / runs per {factor}, with Fisher's exact test of failures x {factor} per cell:\n",
             _failures_table(a)]
    if "convergence" in t and len(t["convergence"]):
        lines += ["", f"Runs that reached the epoch cap still improving / finished runs, per {factor} "
                  f"(more than {CAPPED_WARNING:.0%} in a cell is flagged in the Summary):\n", _convergence_table(a)]
    if a.notes or warnings:
        lines += ["", "Notes:", *[f"- {n}" for n in [*warnings, *a.notes]], ""]
    return [*lines, "", f"![{a.metric} by {factor}]({figures['metric_by_factor']})\n"]


def section_cells(a: Analysis) -> list[str]:
    """Per cell: descriptives with letters, the one-way tests and the significant pairs."""
    return [f"## Per-{a.cell_keys[0]} results\n", *_section_cells(a)]


def section_sensitivity(a: Analysis, figures: dict[str, str]) -> list[str]:
    """The ranking of models (the first cell column) by ω² and ICC, and the variance components behind the ICC."""
    t, ranked, seed = a.tables, a.cell_keys[0], a.replicate
    sens = t["sensitivity"]
    notes = sens["seeds_note"] if "seeds_note" in sens else pd.Series("", index=sens.index)
    needed = [f"cannot say from {n} {seed}s" if note else "∞" if np.isinf(v) else
              f"> {SEEDS_SHOWN_MAX}" if v > SEEDS_SHOWN_MAX else ("–" if pd.isna(v) else str(int(v)))
              for v, note, n in zip(sens["seeds_needed"], notes, sens["seeds"])]
    columns = {**{k: k for k in a.cell_keys[1:]}, ranked: ranked, "index": "index", "value": "value",
               "ci_low": "CI low", "ci_high": "CI high", "rank": "rank", "diff_next": "Δ next",
               "diff_ci_low": "Δ CI low", "diff_ci_high": "Δ CI high", "resolved": "resolved",
               "seeds_needed": f"{seed}s needed"}
    within = f" within each {' x '.join(a.cell_keys[1:])}" if len(a.cell_keys) > 1 else ""
    return ["## Sensitivity ranking\n",
            f"{ranked[:1].upper() + ranked[1:]}s ranked{within} by ω² and by the ICC (rank 1 = most sensitive). "
            f"`resolved` means the bootstrap CI of the difference from the next-ranked {ranked} excludes 0; "
            f"`{seed}s needed` extrapolates the {seed}s per {a.factor} that would likely resolve it (CI widths "
            f"shrink as 1/√{seed}s), assuming the estimated difference is real.\n",
            table(t["sensitivity"].assign(seeds_needed=needed), columns),
            f"\n![sensitivity indices]({figures['sensitivity']})\n" if "sensitivity" in figures else "",
            "### Variance components (REML)\n",
            table(t["variance_components"], {**{k: k for k in a.cell_keys}, "component": "component",
                                             "variance": "variance", "share": "share", "ci_low": "CI low",
                                             "ci_high": "CI high"})]


def section_factorial(a: Analysis) -> list[str]:
    """The factorial ANOVA across cells, and on which scale the metric is compared."""
    cross_note = (f"`{a.metric}` has one definition for every model, so it is compared across models as is."
                  if base_metric(a.metric) in COMMON_METRICS else
                  f"`{a.metric}` is compared across cells as it is." if a.cell_keys[0] != "model" else
                  f"`{base_metric(a.metric)}` is each model's own objective, whose scale differs between models; the "
                  f"across-model tables are therefore also given on `{a.metric} (z within model)`, the metric "
                  f"standardized within each model, where the model:{a.factor} terms compare sensitivities on one "
                  "scale. For a metric with one definition for all models use `--metric val_nelbo` or "
                  "`--metric val_recon_mse`.")
    return ["## Factorial ANOVA\n", cross_note + "\n",
            table(a.tables["factorial_anova"], {"metric": "metric", "typ": "type", "term": "term", "sum_sq": "SS",
                                                "df": "df", "f": "F", "p_value": "p",
                                                "partial_eta_sq": "partial η²"}, p_columns=("p_value",))]


def section_mixed(a: Analysis) -> list[str]:
    """The mixed model: its likelihood-ratio test and the factor's fixed effects."""
    t = a.tables
    lines = ["## Mixed model\n",
             f"`metric ~ {' * '.join(a.factors)} + (1 | {a.replicate})`, REML; fixed effects are deviations from the "
             "grand mean (sum contrasts) with GLS standard errors; each factor's last level, which the contrasts "
             "leave out of the fit, has its own row (kind `fixed (derived)`: minus the sum of the others, with its "
             "standard error), so every level is shown. The likelihood-ratio test compares ML fits with and "
             f"without every {a.factor} term.\n"]
    mm = t["mixed_model"]
    if not len(mm):
        return [*lines, "_Not fitted (see Notes)._\n"]
    init_terms = mm[(mm["kind"] == "variance") | mm["term"].str.contains(a.factor, regex=False)]
    return [*lines,
            table(t["mixed_model_lrt"], {"metric": "metric", "dropped": "dropped", "chisq": "χ²", "df": "df",
                                         "p_value": "p"}, p_columns=("p_value",)),
            f"\nVariances and the {a.factor} fixed effects (all effects in `tables/mixed_model.parquet`):\n",
            table(init_terms, {"metric": "metric", "kind": "kind", "term": "term", "estimate": "estimate",
                               "std_err": "SE", "z": "z", "p_value": "p"}, p_columns=("p_value",))]


def section_posthoc(a: Analysis) -> list[str]:
    """Games-Howell pairs and the paired probability of improvement."""
    t = a.tables
    selected = t["posthoc"][t["posthoc"]["selected"]] if len(t["posthoc"]) else t["posthoc"]
    factor, seed = a.factor, a.replicate
    return ["## Post-hoc comparisons\n",
            f"Games-Howell in every cell, valid whether or not the {factor}s' spreads differ (the `selected` rows "
            "of `tables/posthoc.parquet`; Tukey HSD, which assumes equal spreads, is in the same table for "
            f"reference). `P(better)` is the probability that the first {factor} gives a better "
            f"metric than the second on the same {seed} (Bouthillier et al. 2021), with a Clopper-Pearson CI over "
            f"{seed}s (exact at any number of {seed}s, so with 2 {seed}s it is wide, not a point).\n",
            table(selected, {**{k: k for k in a.cell_keys}, "method": "method", "group1": "group 1",
                             "group2": "group 2", "mean_diff": "mean diff", "ci_low": "CI low", "ci_high": "CI high",
                             "p_adj": "p adj"}, p_columns=("p_adj",)),
            "\n",
            table(t["improvement"], {**{k: k for k in a.cell_keys}, "group1": "group 1", "group2": "group 2",
                                     "prob_better": "P(better)", "ci_low": "CI low", "ci_high": "CI high",
                                     "n_pairs": "pairs"})]


def section_association(a: Analysis, figures: dict[str, str]) -> list[str]:
    """The metric against the clustering (Spearman) and the learning curves."""
    lines = []
    if "association" in a.tables:
        lines += ["## Validation loss vs downstream clustering\n",
                  table(a.tables["association"], {**{k: k for k in a.cell_keys[:2]}, "n": "n", "rho": "Spearman ρ",
                                                  "ci_low": "CI low", "ci_high": "CI high", "p_value": "p",
                                                  "p_holm": "Holm"}, p_columns=("p_value", "p_holm"))]
    if "learning_curves" in figures:
        lines.append(f"\n![learning curves]({figures['learning_curves']})\n")
    return lines


def section_methods(a: Analysis) -> list[str]:
    """The methods behind every table, in a few lines."""
    factor, seed = a.factor, a.replicate
    return ["## Methods\n",
            "- Runs with status other than `ok` or a non-finite metric are failures: counted per cell and "
            f"{factor} and tested with Fisher's exact test (r x 2, exact enumeration); excluded from all fits.",
            "- One-way ANOVA per cell on mean-shifted data; η² and ω² = (SS_b − df_b MS_w) / (SS_t + MS_w), with the "
            "exact 95% CI of the population variance share they estimate, λ/(λ + N), from the noncentral F's λ "
            "inverted at the observed F (Steiger 2004, as R's MBESS ci.pvaf). Simulated coverage of a 95% interval "
            f"(tests/test_interval_coverage.py, 1,000 tables per case): 94-95% for normal errors at 3, 5 and 10 "
            f"{seed}s; "
            "it is NOT nominal for heavy tails (t with 3 df: 83-91%) or spreads differing 16-fold (91-92%). Welch's "
            "ANOVA, Kruskal-Wallis and "
            "Brown-Forsythe (Levene, median-centred) alongside; a statistic undefined at the data's size (e.g. "
            "Brown-Forsythe with two runs per level) is shown as undefined, with the reason.",
            f"- Sensitivity ranking: differences of ω² between cells from bootstrap replicates "
            f"({a.settings['n_boot']} resamples within {factor}s; the cells hold different runs, so their replicates "
            "are independent). A percentile bootstrap of few values: its coverage is not validated, so read "
            f"`resolved` at fewer than 10 {seed}s as a hint.",
            f"- The headline's test: Welch's ANOVA in cells whose {factor}s' standard deviations differ at least "
            "2-fold (where the classical F's error rate drifts), the classical ANOVA elsewhere.",
            "- Holm's step-down adjustment across cells for each test family, reported next to the raw p-values.",
            f"- Variance components: REML with crossed random intercepts for {factor} and {seed} "
            f"({seed} only when shared across {factor}s), variances bounded at 0 (a boundary fit gives an ICC "
            f"of exactly 0); ICC CI by parametric bootstrap ({a.settings['n_boot_icc']} simulated tables refitted). "
            f"Its simulated coverage is NOT nominal: 96% at 3 {seed}s, 85% at 5, 88% at 10 for a 95% interval (five "
            "levels, normal components, 150 tables each; tests/test_interval_coverage.py): with five levels the "
            f"factor's variance is known poorly, and the interval is a rough range. The {seed} and residual shares' "
            "intervals: 93-98%.",
            "- Factorial ANOVA types II and III with sum-to-zero contrasts (statsmodels), partial η².",
            f"- Mixed model: random {seed} intercept, REML (ML for the LRT) from per-{seed} sufficient statistics with "
            "the variance ratio profiled (grid and Brent), GLS standard errors; equal to lme4::lmer.",
            "- Post-hoc: Games-Howell (Tukey HSD beside it, not used), simultaneous 95% intervals with 93-96% "
            f"simulated familywise coverage at 3-10 {seed}s, normal, heavy-tailed or unequal spreads; compact "
            "letters by insert-absorb; "
            f"probability of improvement paired by {seed}, with a Clopper-Pearson interval over the {seed}s (ties "
            f"count one half; conservative: 97-100% simulated coverage at 3-5 {seed}s, 96.5-98.6% at 10), or from "
            "every cross pair with a percentile bootstrap "
            f"where {seed}s are not shared. α = {a.settings['alpha']}.",
            f"- `{seed}s needed` (a planning figure) only from at least 5 {seed}s and where the difference lies at "
            "least one standard error from 0; otherwise its own estimate could be off by more than 4x and the report "
            "says it cannot say.",
            "- Spearman's ρ with a Fisher-z interval (Fieller-Hartley-Pearson variance 1.06/(n − 3)).",
            "- All statistics are validated against R (car, lme4, rstatix, multcompView) and the NIST StRD ANOVA "
            "certified values in initsens' test suite.",
            ""]


def section_reproducibility(files: Sequence[tuple[str, str]], tables_dir: str, command: str,
                            versions: dict[str, str]) -> list[str]:
    """The command, the versions, the tables' folder and the inputs' sha256."""
    return ["## Reproducibility\n",
            f"Command: `{command}`\n",
            "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())
            + f", Python {platform.python_version()}.\n",
            f"Tables: `{tables_dir}/` (Parquet, one per analysis; column descriptions in each file's schema).\n",
            "Input files (sha256):\n",
            *[f"- `{name}` {digest}" for name, digest in files], ""]


def render(a: Analysis, files: Sequence[tuple[str, str]], figures: dict[str, str], tables_dir: str,
           command: str, versions: dict[str, str], warnings: Sequence[str]) -> str:
    """The whole report as Markdown text, section by section."""
    return "\n".join([*section_header(a, versions.get("initsens", "")), *section_summary(a),
                      *section_design(a, figures, warnings), *section_cells(a), *section_sensitivity(a, figures),
                      *section_factorial(a), *section_mixed(a), *section_posthoc(a),
                      *section_association(a, figures), *section_methods(a),
                      *section_reproducibility(files, tables_dir, command, versions)])
