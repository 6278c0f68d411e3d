"""The Markdown report: a Summary whose sentences come from the numbers, then the tables behind
them.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from initsens.analysis.cells import cell_label, cell_mask, iter_cells
from initsens.analysis.convergence import CAPPED_WARNING
from initsens.analysis.study import COMMON_METRICS, Analysis, base_metric
from initsens.report.format import ci, fmt, fmt_p, table
from initsens.report.summary import SEEDS_SHOWN_MAX, summary


def _levels(a: Analysis) -> tuple[float, ...]:
    """The level the report's p-values are read against (its α), so that none prints on its wrong
    side.
    """
    return (float(a.settings.get("alpha", 0.05)),)


def _convergence_table(a: Analysis) -> str:
    conv = a.tables["convergence"]
    wide = (
        conv.assign(cell=conv["n_capped"].astype(str) + "/" + conv["n_finished"].astype(str))
        .pivot_table(index=a.cell_keys, columns=a.factor, values="cell", aggfunc="first")
        .reset_index()
    )
    share = conv.groupby(a.cell_keys)[["n_finished", "n_capped"]].sum()
    wide = wide.merge(
        (share["n_capped"] / share["n_finished"]).rename("share").reset_index(), on=a.cell_keys
    )
    inits = sorted(conv[a.factor].unique())
    return table(
        wide, {**{k: k for k in a.cell_keys}, **{i: i for i in inits}, "share": "capped share"}
    )


def _failures_table(a: Analysis) -> str:
    f = a.tables["failures"]
    wide = (
        f.assign(cell=f["n_failed"].astype(str) + "/" + f["n_runs"].astype(str))
        .pivot_table(index=a.cell_keys, columns=a.factor, values="cell", aggfunc="first")
        .reset_index()
    )
    p = f.groupby(a.cell_keys)[["fisher_p", "fisher_p_holm"]].first().reset_index()
    wide = wide.merge(p, on=a.cell_keys)
    inits = sorted(f[a.factor].unique())
    return table(
        wide,
        {
            **{k: k for k in a.cell_keys},
            **{i: i for i in inits},
            "fisher_p": "Fisher p",
            "fisher_p_holm": "Holm",
        },
        p_columns=("fisher_p", "fisher_p_holm"),
        levels=_levels(a),
    )


def omega_text(raw: float) -> str:
    """ω² as the report prints it: bounded at 0, as the variance share it estimates is, with a
    negative raw value beside it (the between-level variance estimate is below 0: no detectable
    effect).
    """
    if not np.isfinite(raw) or raw >= 0:
        return fmt(raw, 3)
    return f"0 (raw {fmt(raw, 3)}: below 0, no detectable effect; see Methods)"


def _section_cells(a: Analysis) -> list[str]:
    out = []
    desc, ow, ph = a.tables["descriptives"], a.tables["oneway_anova"], a.tables["posthoc"]
    levels = _levels(a)
    for keys, cell in iter_cells(desc, a.cell_keys):
        sel = dict(zip(a.cell_keys, keys))
        out.append(f"### {cell_label(sel)}\n")
        out.append(
            table(
                cell,
                {
                    a.factor: a.factor,
                    "n": "n",
                    "mean": "mean",
                    "sd": "sd",
                    "median": "median",
                    "iqr": "IQR",
                    "ci_low": "95% CI low",
                    "ci_high": "95% CI high",
                    "letters": "group",
                },
            )
        )
        row = ow[cell_mask(ow, sel)]
        if row.empty:
            out.append("_Not analyzed (see Data & design)._\n")
            continue
        r = row.iloc[0]
        bf = (
            f"Brown-Forsythe F = {fmt(r['bf_f'])}, p {fmt_p(r['bf_p'], levels)}"
            if np.isfinite(r["bf_f"])
            else "Brown-Forsythe F undefined"
        )
        anova = (
            f"F({fmt(r['df_between'])}, {fmt(r['df_within'])}) = {fmt(r['f'])}, "
            f"p {fmt_p(r['p_value'], levels)} (Holm {fmt_p(r['p_holm'], levels)})"
            if np.isfinite(r["f"])
            else "F undefined"
        )
        out.append(
            f"One-way ANOVA: {anova}; η² = {fmt(r['eta_sq'], 3)}, ω² = "
            f"{omega_text(r['omega_sq'])}; the variance share both estimate "
            f"{ci(r['omega_sq_ci_low'], r['omega_sq_ci_high'])} (exact 95% CI). Welch "
            f"F({fmt(r['welch_df1'], 3)}, {fmt(r['welch_df2'], 3)}) = {fmt(r['welch_f'])}, p "
            f"{fmt_p(r['welch_p'], levels)}; Kruskal-Wallis H = {fmt(r['kruskal_h'])}, p "
            f"{fmt_p(r['kruskal_p'], levels)}; {bf}.\n"
            + (f"Undefined at this size: {r['undefined']}.\n" if r.get("undefined") else "")
        )
        if len(ph):
            sub = ph[cell_mask(ph, sel) & ph["selected"]]
            if len(sub):
                out.append(
                    f"Post-hoc ({sub['method'].iloc[0].replace('_', '-')}), significant pairs: "
                    + (
                        ", ".join(
                            f"{x.group1} − {x.group2} = {fmt(x.mean_diff, 3)} (p "
                            f"{fmt_p(x.p_adj, levels)})"
                            for x in sub.itertuples()
                            if x.reject
                        )
                        or "none"
                    )
                    + ".\n"
                )
    return out


def section_header(a: Analysis, version: str) -> list[str]:
    """The title, the generation line and the metric's direction."""
    title = "Initialization" if a.factor == "initializer" else a.factor[:1].upper() + a.factor[1:]
    return [
        f"# {title} sensitivity report: `{a.metric}`\n",
        f"_Generated by initsens {version} on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}. "
        f"{'Higher' if a.higher_is_better else 'Lower'} `{a.metric}` is better._\n",
    ]


def section_summary(a: Analysis) -> list[str]:
    """The Summary: one sentence per finding, each from one table."""
    return ["## Summary\n", *summary(a), ""]


def section_design(a: Analysis, figures: dict[str, str], warnings: Sequence[str]) -> list[str]:
    """Cells and factors, failures per factor level, capped runs, notes and the metric's figure."""
    t, factor = a.tables, a.factor
    lines = [
        "## Data & design\n",
        f"Cells are {' x '.join(a.cell_keys)}; factors across cells: {', '.join(a.factors)}.\n",
        f"Failed runs / runs per {factor}, with Fisher's exact test of failures x {factor} per "
        "cell:\n",
        _failures_table(a),
    ]
    if "convergence" in t and len(t["convergence"]):
        lines += [
            "",
            f"Runs that reached the epoch cap still improving / finished runs, per {factor} "
            f"(more than {CAPPED_WARNING:.0%} in a cell is flagged in the Summary):\n",
            _convergence_table(a),
        ]
    if a.notes or warnings:
        lines += ["", "Notes:", *[f"- {n}" for n in [*warnings, *a.notes]], ""]
    return [*lines, "", f"![{a.metric} by {factor}]({figures['metric_by_factor']})\n"]


def section_cells(a: Analysis) -> list[str]:
    """Per cell: descriptives with letters, the one-way tests and the significant pairs."""
    return [f"## Per-{a.cell_keys[0]} results\n", *_section_cells(a)]


def section_sensitivity(a: Analysis, figures: dict[str, str]) -> list[str]:
    """The ranking of models (the first cell column) by ω² and ICC, and the variance components
    behind the ICC.
    """
    t, ranked, seed = a.tables, a.cell_keys[0], a.replicate
    sens = t["sensitivity"]
    notes = sens["seeds_note"] if "seeds_note" in sens else pd.Series("", index=sens.index)
    needed = [
        f"cannot say from {n} {seed}s"
        if note
        else "∞"
        if np.isinf(v)
        else f"> {SEEDS_SHOWN_MAX}"
        if v > SEEDS_SHOWN_MAX
        else ("–" if pd.isna(v) else str(int(v)))
        for v, note, n in zip(sens["seeds_needed"], notes, sens["seeds"])
    ]
    columns = {
        **{k: k for k in a.cell_keys[1:]},
        ranked: ranked,
        "index": "index",
        "value": "value",
        "ci_low": "CI low",
        "ci_high": "CI high",
        "rank": "rank",
        "diff_next": "Δ next",
        "diff_ci_low": "Δ CI low",
        "diff_ci_high": "Δ CI high",
        "resolved": "resolved",
        "seeds_needed": f"{seed}s needed",
    }
    within = f" within each {' x '.join(a.cell_keys[1:])}" if len(a.cell_keys) > 1 else ""
    return [
        "## Sensitivity ranking\n",
        f"{ranked[:1].upper() + ranked[1:]}s ranked{within} by ω² and by the ICC (rank 1 = most "
        "sensitive). `resolved` means the bootstrap CI of the difference from the next-ranked "
        f"{ranked} excludes 0; `{seed}s needed` extrapolates the {seed}s per {a.factor} that would "
        f"likely resolve it (CI widths shrink as 1/√{seed}s), assuming the estimated difference is "
        "real.\n",
        table(t["sensitivity"].assign(seeds_needed=needed), columns),
        f"\n![sensitivity indices]({figures['sensitivity']})\n" if "sensitivity" in figures else "",
        "### Variance components (REML)\n",
        table(
            t["variance_components"],
            {
                **{k: k for k in a.cell_keys},
                "component": "component",
                "variance": "variance",
                "share": "share",
                "ci_low": "CI low",
                "ci_high": "CI high",
            },
        ),
    ]


def section_factorial(a: Analysis) -> list[str]:
    """The factorial ANOVA across cells, and on which scale the metric is compared."""
    cross_note = (
        f"`{a.metric}` has one definition for every model, so it is compared across models as is."
        if base_metric(a.metric) in COMMON_METRICS
        else f"`{a.metric}` is compared across cells as it is."
        if a.cell_keys[0] != "model"
        else f"`{base_metric(a.metric)}` is each model's own objective, whose scale differs "
        f"between models; the across-model tables are therefore also given on `{a.metric} (z "
        f"within model)`, the metric standardized within each model, where the model:{a.factor} "
        "terms compare sensitivities on one scale. For a metric with one definition for all "
        "models use `--metric val_nelbo` or `--metric val_recon_mse`."
    )
    anova = a.tables["factorial_anova"]
    undefined = (
        anova["undefined"].fillna("") if "undefined" in anova else pd.Series("", index=anova.index)
    )
    shown = (
        anova.assign(term=anova["term"].where(undefined == "", anova["term"] + " †"))
        if len(anova)
        else anova
    )
    notes = [
        f"† `{term}` on `{metric}`: {why}, whatever the data; its SS, F and p would say nothing "
        "and are left out (–). The other terms are unaffected."
        for (term, metric, why) in dict.fromkeys(
            zip(anova.get("term", []), anova.get("metric", []), undefined)
        )
        if why
    ]
    return [
        "## Factorial ANOVA\n",
        cross_note + "\n",
        table(
            shown,
            {
                "metric": "metric",
                "typ": "type",
                "term": "term",
                "sum_sq": "SS",
                "df": "df",
                "f": "F",
                "p_value": "p",
                "partial_eta_sq": "partial η²",
            },
            p_columns=("p_value",),
            levels=_levels(a),
        ),
        *[f"\n{note}\n" for note in notes],
    ]


def section_mixed(a: Analysis) -> list[str]:
    """The mixed model: its likelihood-ratio test and the factor's fixed effects."""
    t = a.tables
    lines = [
        "## Mixed model\n",
        f"`metric ~ {' * '.join(a.factors)} + (1 | {a.replicate})`, REML; fixed effects are "
        "deviations from the grand mean (sum contrasts) with GLS standard errors; each factor's "
        "last level, which the contrasts leave out of the fit, has its own row (kind `fixed "
        "(derived)`: minus the sum of the others, with its standard error), so every level is "
        f"shown. The likelihood-ratio test compares ML fits with and without every {a.factor} "
        "term.\n",
    ]
    mm = t["mixed_model"]
    if not len(mm):
        return [*lines, "_Not fitted (see Notes)._\n"]
    init_terms = mm[(mm["kind"] == "variance") | mm["term"].str.contains(a.factor, regex=False)]
    return [
        *lines,
        table(
            t["mixed_model_lrt"],
            {"metric": "metric", "dropped": "dropped", "chisq": "χ²", "df": "df", "p_value": "p"},
            p_columns=("p_value",),
            levels=_levels(a),
        ),
        f"\nVariances and the {a.factor} fixed effects (all effects in "
        "`tables/mixed_model.parquet`):\n",
        table(
            init_terms,
            {
                "metric": "metric",
                "kind": "kind",
                "term": "term",
                "estimate": "estimate",
                "std_err": "SE",
                "z": "z",
                "p_value": "p",
            },
            p_columns=("p_value",),
            levels=_levels(a),
        ),
    ]


def section_posthoc(a: Analysis) -> list[str]:
    """Games-Howell pairs and the paired probability of improvement."""
    t = a.tables
    selected = t["posthoc"][t["posthoc"]["selected"]] if len(t["posthoc"]) else t["posthoc"]
    factor, seed = a.factor, a.replicate
    return [
        "## Post-hoc comparisons\n",
        f"Games-Howell in every cell, valid whether or not the {factor}s' spreads differ (the "
        "`selected` rows of `tables/posthoc.parquet`; Tukey HSD, which assumes equal spreads, is "
        f"in the same table for reference). `P(better)` is the probability that the first {factor} "
        f"gives a better metric than the second on the same {seed} (Bouthillier et al. 2021), with "
        f"a Clopper-Pearson CI over {seed}s (exact at any number of {seed}s, so with 2 {seed}s it "
        "is wide, not a point).\n",
        table(
            selected,
            {
                **{k: k for k in a.cell_keys},
                "method": "method",
                "group1": "group 1",
                "group2": "group 2",
                "mean_diff": "mean diff",
                "ci_low": "CI low",
                "ci_high": "CI high",
                "p_adj": "p adj",
            },
            p_columns=("p_adj",),
            levels=_levels(a),
        ),
        "\n",
        table(
            t["improvement"],
            {
                **{k: k for k in a.cell_keys},
                "group1": "group 1",
                "group2": "group 2",
                "prob_better": "P(better)",
                "ci_low": "CI low",
                "ci_high": "CI high",
                "n_pairs": "pairs",
            },
        ),
    ]


def section_association(a: Analysis, figures: dict[str, str]) -> list[str]:
    """The metric against the clustering (Spearman) and the learning curves."""
    lines = []
    if "association" in a.tables:
        assoc = a.tables["association"]
        if "undefined" in assoc:  # an undefined ρ says why where it would stand
            rho = [
                f"– ({why})" if why else value
                for value, why in zip(assoc["rho"], assoc["undefined"].fillna(""))
            ]
            assoc = assoc.assign(rho=pd.Series(rho, index=assoc.index, dtype=object))
        lines += [
            "## Validation loss vs downstream clustering\n",
            table(
                assoc,
                {
                    **{k: k for k in a.cell_keys[:2]},
                    "n": "n",
                    "rho": "Spearman ρ",
                    "ci_low": "CI low",
                    "ci_high": "CI high",
                    "p_value": "p",
                    "p_holm": "Holm",
                },
                p_columns=("p_value", "p_holm"),
                levels=_levels(a),
            ),
        ]
    if "learning_curves" in figures:
        lines.append(f"\n![learning curves]({figures['learning_curves']})\n")
    return lines


def section_methods(a: Analysis) -> list[str]:
    """The methods behind every table, in a few lines."""
    factor, seed = a.factor, a.replicate
    return [
        "## Methods\n",
        "- Runs with status other than `ok` or a non-finite metric are failures: counted per cell "
        f"and {factor} and tested with Fisher's exact test (r x 2, exact enumeration); excluded "
        "from all fits.",
        "- One-way ANOVA per cell on mean-shifted data; η² and ω² = (SS_b − df_b MS_w) / (SS_t + "
        "MS_w), with the exact 95% CI of the population variance share they estimate, λ/(λ + N), "
        "from the noncentral F's λ inverted at the observed F (Steiger 2004, as R's MBESS "
        "ci.pvaf). Simulated coverage of a 95% interval (tests/test_interval_coverage.py, 1,000 "
        f"tables per case): 94-95% for normal errors at 3, 5 and 10 {seed}s; it is NOT nominal for "
        "heavy tails (t with 3 df: 83-91%) or spreads differing 16-fold (91-92%). Welch's ANOVA, "
        "Kruskal-Wallis and Brown-Forsythe (Levene, median-centred) alongside; a statistic "
        "undefined at the data's size (e.g. Brown-Forsythe with two runs per level) is shown as "
        "undefined, with the reason.",
        f"- A negative ω² (SS_b < df_b MS_w: the {factor}s' means differ less than the "
        f"{seed}-to-{seed} noise alone would make them, so the between-{factor} variance estimate "
        "is below 0) means no detectable effect. It is reported as 0, the bound of the share it "
        "estimates (as REML bounds the ICC at 0), with the raw value beside it; the interval is "
        "that of the population share, in [0, 1], so estimate and interval are on one scale. The "
        "oneway_anova table keeps the raw value.",
        "- Sensitivity ranking: differences of ω² between cells from bootstrap replicates "
        f"({a.settings['n_boot']} resamples within {factor}s; the cells hold different runs, so "
        "their replicates are independent), each replicate bounded at 0 as the estimate is, so a "
        "difference of two shares and its interval lie in [−1, 1]. A percentile bootstrap of few "
        f"values: its coverage is not validated, so read `resolved` at fewer than 10 {seed}s as a "
        "hint.",
        f"- The headline's test: Welch's ANOVA in cells whose {factor}s' standard deviations "
        "differ at least 2-fold (where the classical F's error rate drifts), the classical ANOVA "
        "elsewhere.",
        "- Holm's step-down adjustment across cells for each test family, reported next to the "
        "raw p-values.",
        f"- Variance components: REML with crossed random intercepts for {factor} and {seed} "
        f"({seed} only when shared across {factor}s), variances bounded at 0 (a boundary fit gives "
        f"an ICC of exactly 0); ICC CI by parametric bootstrap ({a.settings['n_boot_icc']} "
        f"simulated tables refitted). Its simulated coverage is NOT nominal: 96% at 3 {seed}s, 85% "
        "at 5, 88% at 10 for a 95% interval (five levels, normal components, 150 tables each; "
        "tests/test_interval_coverage.py): with five levels the factor's variance is known "
        f"poorly, and the interval is a rough range. The {seed} and residual shares' intervals: "
        "93-98%.",
        "- Factorial ANOVA types II and III with sum-to-zero contrasts (statsmodels), partial η². "
        "On a metric standardized within each model the model term is 0 by construction (in a "
        "balanced design): it is shown as – and marked †.",
        f"- Mixed model: random {seed} intercept, REML (ML for the LRT) from per-{seed} sufficient "
        "statistics with the variance ratio profiled (grid and Brent), GLS standard errors; equal "
        "to lme4::lmer.",
        "- Post-hoc: Games-Howell (Tukey HSD beside it, not used), simultaneous 95% intervals "
        f"with 93-96% simulated familywise coverage at 3-10 {seed}s, normal, heavy-tailed or "
        "unequal spreads; compact letters by insert-absorb; the best set of a cell is the "
        f"{factor} with the best mean and those whose Games-Howell difference from it is not "
        "significant: the ones the data cannot separate from the best, not ones shown to be as "
        f"good; probability of improvement paired by {seed}, with a Clopper-Pearson interval over "
        f"the {seed}s (ties count one half; conservative: 97-100% simulated coverage at 3-5 "
        f"{seed}s, 96.5-98.6% at 10), or from every cross pair with a percentile bootstrap where "
        f"{seed}s are not shared. α = {a.settings['alpha']}.",
        f"- `{seed}s needed` (a planning figure) only from at least 5 {seed}s and where the "
        "difference lies at least one standard error from 0; otherwise its own estimate could be "
        "off by more than 4x and the report says it cannot say.",
        "- Spearman's ρ with a Fisher-z interval (Fieller-Hartley-Pearson variance 1.06/(n − 3)); "
        "undefined (–, with the reason) where either column is the same in every run or fewer "
        "than 4 runs have both.",
        "- All statistics are validated against R (car, lme4, rstatix, multcompView) and the NIST "
        "StRD ANOVA certified values in initsens' test suite.",
        "",
    ]


def section_reproducibility(
    files: Sequence[tuple[str, str]], tables_dir: str, command: str, versions: dict[str, str]
) -> list[str]:
    """The command, the versions, the tables' folder and the inputs' sha256."""
    return [
        "## Reproducibility\n",
        f"Command: `{command}`\n",
        "Versions: "
        + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f", Python {platform.python_version()}.\n",
        f"Tables: `{tables_dir}/` (Parquet, one per analysis; column descriptions in each file's "
        "schema).\n",
        "Input files (sha256):\n",
        *[f"- `{name}` {digest}" for name, digest in files],
        "",
    ]


def render(
    a: Analysis,
    *,
    files: Sequence[tuple[str, str]],
    figures: dict[str, str],
    tables_dir: str,
    command: str,
    versions: dict[str, str],
    warnings: Sequence[str],
) -> str:
    """The whole report as Markdown text, section by section."""
    return "\n".join(
        [
            *section_header(a, versions.get("initsens", "")),
            *section_summary(a),
            *section_design(a, figures, warnings),
            *section_cells(a),
            *section_sensitivity(a, figures),
            *section_factorial(a),
            *section_mixed(a),
            *section_posthoc(a),
            *section_association(a, figures),
            *section_methods(a),
            *section_reproducibility(files, tables_dir, command, versions),
        ]
    )
