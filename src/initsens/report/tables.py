"""The report's tidy tables as Parquet, one file per analysis, each column described in the file's
schema.

The descriptions below are also what README's "Analysis tables" section lists; a test checks that
every written column has one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from initsens.atomic import atomic_path
from initsens.settings import FACTORS

#: The swept factors' columns as the settings table describes them (a replicate has its own
#: description).
CELL = {
    **{
        factor.column: factor.about
        + (" (present when it has several levels)" if factor.cell == "varied" else "")
        for _, factor in FACTORS
        if factor.cell
    },
    "metric": "analyzed column (a transformed variant carries its own label)",
    **{
        factor.column: factor.about
        for _, factor in FACTORS
        if not factor.cell and factor.column != "seed"
    },
}
COLUMNS: dict[str, str] = {
    **CELL,
    "n": "number of runs used",
    "k": "number of initializers",
    "ss_between": "between-initializer sum of squares",
    "ss_within": "within-initializer sum of squares",
    "df_between": "k - 1",
    "df_within": "n - k",
    "f": "F statistic",
    "p_value": "p-value",
    "p_holm": "Holm-adjusted p-value across cells",
    "eta_sq": "SS_between / SS_total",
    "omega_sq": "bias-corrected share of variance explained by the initializer",
    "omega_sq_ci_low": "exact 95% CI (noncentral F) of the variance "
    "share omega_sq and eta_sq estimate, lower",
    "omega_sq_ci_high": "exact 95% CI (noncentral F) of the variance "
    "share omega_sq and eta_sq estimate, upper",
    "eta_sq_ci_low": "the same interval as omega_sq_ci_low (one parameter, two estimates)",
    "eta_sq_ci_high": "the same interval as omega_sq_ci_high (one parameter, two estimates)",
    "undefined": "which statistic of the row is undefined, and why (its columns hold NaN; '' when "
    "all are defined)",
    "welch_f": "Welch's F",
    "welch_df1": "Welch numerator df",
    "welch_df2": "Welch denominator df",
    "welch_p": "Welch p-value",
    "welch_p_holm": "Holm-adjusted Welch p-value",
    "kruskal_h": "Kruskal-Wallis H",
    "kruskal_p": "Kruskal-Wallis p-value",
    "kruskal_p_holm": "Holm-adjusted Kruskal-Wallis p-value",
    "bf_f": "Brown-Forsythe F (median-centred Levene)",
    "bf_p": "Brown-Forsythe p-value",
    "bf_p_holm": "Holm-adjusted Brown-Forsythe p-value",
    "mean": "mean",
    "sd": "standard deviation",
    "median": "median",
    "q1": "25th percentile",
    "q3": "75th percentile",
    "iqr": "q3 - q1",
    "ci_low": "95% CI lower bound",
    "ci_high": "95% CI upper bound",
    "letters": "compact letter display: initializers sharing a letter do not differ significantly",
    "best": "not significantly worse than the best initializer",
    "method": "tukey / games_howell (post-hoc); REML / ML (mixed model)",
    "group1": "first initializer",
    "group2": "second initializer",
    "mean_diff": "mean(group1) - mean(group2)",
    "p_adj": "p-value adjusted for the pairs of the cell",
    "reject": "p_adj < alpha",
    "selected": "the method the letters, best sets and claims use: Games-Howell in every cell (no "
    "pretest)",
    "paired": "compared seed by seed (seeds shared across initializers)",
    "n_pairs": "number of compared pairs",
    "prob_better": "probability that group1 gives a better metric than group2",
    "component": "initializer / seed / residual",
    "variance": "REML variance",
    "share": "fraction of the total variance (the ICC for initializer)",
    "reml_loglik": "REML log-likelihood",
    "typ": "sums of squares type (2 or 3)",
    "term": "model term",
    "sum_sq": "sum of squares",
    "df": "degrees of freedom",
    "partial_eta_sq": "SS_term / (SS_term + SS_residual)",
    "kind": "fixed (effect), fixed (derived) (a factor's last level: minus the sum of the others) "
    "or variance",
    "estimate": "fixed effect (sum contrasts) or variance",
    "std_err": "GLS standard error",
    "z": "estimate / std_err",
    "loglik": "log-likelihood of the fit",
    "dropped": "terms removed in the reduced model",
    "chisq": "likelihood-ratio statistic",
    "loglik_full": "ML log-likelihood, full model",
    "loglik_reduced": "ML log-likelihood, reduced model",
    "n_runs": "runs in the grid",
    "n_failed": "runs with status other than ok or a non-finite metric",
    "fail_rate": "n_failed / n_runs",
    "fisher_p": "Fisher exact test of failures x initializer in the cell",
    "fisher_p_holm": "Holm-adjusted fisher_p across cells",
    "index": "sensitivity index: omega_sq or icc",
    "value": "index value (or curve's variable, learning_curves)",
    "rank": "1 = most sensitive within the depth",
    "next_model": "the next-ranked model",
    "diff_next": "value minus the next-ranked model's value",
    "diff_ci_low": "bootstrap 95% CI of diff_next, lower",
    "diff_ci_high": "bootstrap 95% CI of diff_next, upper",
    "resolved": "the CI of diff_next excludes 0",
    "seeds": "seeds per initializer now",
    "seeds_needed": "seeds per initializer that would likely resolve the order (planning figure)",
    "seeds_note": "'cannot say' where seeds_needed's own estimate is unstable (fewer than 5 "
    "seeds, or a difference within one standard error of 0)",
    "other": "the downstream column correlated with the metric",
    "rho": "Spearman's rank correlation",
    "epoch": "epoch (1-based)",
    "n_capped": "finished runs that reached the epoch cap still improving (stopped = cap)",
    "n_finished": "runs that finished training (stopped early "
    "or at the cap; not diverged or failed)",
    "capped_share": "n_capped / n_finished",
}


def descriptions(
    factor: str = "initializer", replicate: str = "seed", cell_keys: Sequence[str] = ()
) -> dict[str, str]:
    """:data:`COLUMNS` in a design's words: its factor and replicate named where ours are, its cell
    columns and the sensitivity ranking's ``next_<first cell column>`` described.
    """
    words = {"initializer": factor, "seed": replicate}
    out = {
        name: re.sub(r"\b(initializer|seed)", lambda m: words[m.group(1)], text)
        for name, text in COLUMNS.items()
    }
    out.setdefault(factor, "the factor whose effect is measured (--factor)")
    for key in cell_keys:
        out.setdefault(key, "cell column (--by)")
    if cell_keys:
        out.setdefault(f"next_{cell_keys[0]}", f"the next-ranked {cell_keys[0]}")
    return out


def write_table(table: pd.DataFrame, dest: Path, described: dict[str, str] = COLUMNS) -> None:
    """Write ``table`` atomically with each column's description (from ``described``) in its Arrow
    field metadata.
    """
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    fields = [f.with_metadata({"description": described.get(f.name, "")}) for f in arrow.schema]
    arrow = arrow.cast(pa.schema(fields, metadata={"producer": "initsens analyze"}))
    with atomic_path(dest) as tmp:
        pq.write_table(arrow, tmp)
