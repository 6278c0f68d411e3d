"""The report's sections, one at a time, on small made-up tables whose sentences are known."""

from __future__ import annotations

import numpy as np
import pandas as pd

from initsens.analysis.study import Analysis
from initsens.report import markdown as md
from initsens.report import summary


def analysis(tables: dict, runs: pd.DataFrame | None = None, metric: str = "val_loss") -> Analysis:
    runs = runs if runs is not None else pd.DataFrame({
        "model": ["M"] * 4, "depth": [1] * 4, "initializer": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1],
        "failed": [False] * 4})
    return Analysis(metric, ["model", "depth"], ["model", "initializer", "depth"], False, runs, None, tables,
                    settings={"alpha": 0.05, "n_boot": 123, "n_boot_icc": 45})


def sensitivity_row(**values) -> dict:
    base = {"depth": 1, "model": "IWAE", "index": "omega_sq", "value": 0.9, "ci_low": 0.8, "ci_high": 0.95,
            "rank": 1, "next_model": "VanillaVAE", "diff_next": 0.2, "diff_ci_low": 0.1, "diff_ci_high": 0.3,
            "resolved": True, "seeds": 10, "seeds_needed": np.nan}
    return {**base, **values}


def test_sensitivity_sentences():
    table = pd.DataFrame([
        sensitivity_row(),
        sensitivity_row(depth=2, resolved=False, diff_ci_low=-0.1, seeds_needed=40),
        sensitivity_row(depth=3, resolved=False, diff_ci_low=-0.1, seeds_needed=5000),
        sensitivity_row(depth=4, next_model=np.nan),
        sensitivity_row(depth=5, resolved=False, diff_next=0.0, diff_ci_low=-0.1, seeds_needed=np.inf),
        sensitivity_row(depth=1, model="VanillaVAE", rank=2),  # not rank 1: no sentence
        sensitivity_row(depth=6, resolved=False, diff_ci_low=-0.1, seeds=2, seeds_note="cannot say"),
    ]).assign(seeds_note=lambda t: t["seeds_note"].fillna(""))
    lines = summary.sensitivity_summary(analysis({"sensitivity": table}))
    assert len(lines) == 6 and lines[5].endswith("How many seeds would: cannot say from 2 seeds (see Methods).")
    assert lines[0] == ("- **Most sensitive (ω²), depth 1:** IWAE (ω² = 0.9, 95% CI [0.8, 0.95]), ahead of "
                        "VanillaVAE by 0.2 (95% CI [0.1, 0.3]).")
    assert "not resolved by these data" in lines[1] and "About 40 seeds per initializer (now 10)" in lines[1]
    assert "Even 1000 seeds per initializer would likely not (now 10)" in lines[2]
    assert lines[3].endswith("IWAE is the only analyzable model.")
    assert lines[4].endswith("No number of seeds would: the difference is 0 or next to it.")


def test_failures_sentence_lists_initializers_and_significant_cells():
    failures = pd.DataFrame({"model": ["M", "M", "N", "N"], "depth": 1, "initializer": ["a", "b", "a", "b"],
                             "n_runs": 10, "n_failed": [0, 9, 0, 1], "fisher_p_holm": [0.001, 0.001, 0.9, 0.9]})
    runs = pd.DataFrame({"model": "M", "depth": 1, "initializer": "a", "seed": range(10),
                         "failed": [True] * 10})
    (sentence,) = summary.failures_summary(analysis({"failures": failures}, runs))
    assert sentence == ("- **Failures** by initializer: b 10. The failure rate depends on the initializer "
                        "(Fisher exact, Holm-adjusted p < 0.05) in M, depth 1.")
    assert summary.failures_summary(analysis({"failures": failures})) == []  # nothing failed: no sentence


def test_effect_caution_and_best_sentences():
    """The headline says which test it trusts in each cell: Welch's where the spreads differ 2-fold or more."""
    oneway = pd.DataFrame({"model": ["A", "B", "C"], "depth": 1, "p_holm": [0.01, 0.2, 0.03],
                           "welch_p_holm": [0.01, 0.01, 0.5]})
    desc = pd.DataFrame({"model": list("AABBCC"), "depth": 1, "initializer": list("ababab"),
                         "sd": [1.0, 1.2, 1.0, 3.0, 1.0, 1.9]})  # B: 3-fold (Welch); A, C: below 2-fold
    a = analysis({"oneway_anova": oneway, "descriptives": desc})
    assert list(summary.unequal_spreads(a)) == [False, True, False]
    assert summary.effect_summary(a) == [
        "- **Initializer effect.** In 3 of 3 cells (model x depth) the initializer changes the mean `val_loss` "
        "(Holm-adjusted p < 0.05), judged by Welch's ANOVA in the 1 cell(s) whose spreads differ at least 2-fold, "
        "the classical ANOVA in the others, because the classical F assumes equal spreads. The classical ANOVA "
        "alone finds it in 2, Welch's in 2."]
    assert "With 2 seeds per combination" in summary.caution_summary(a)[0]
    desc = pd.DataFrame({"model": "M", "depth": 1, "initializer": ["a", "b", "c"], "best": [True, False, True]})
    assert summary.best_summary(analysis({"descriptives": desc})) == [
        "- **Best initializer(s)** (lowest mean and those not significantly worse): M, depth 1: a, c."]


def test_mixed_section_without_a_fit_and_methods_with_the_settings():
    empty = analysis({"mixed_model": pd.DataFrame(), "mixed_model_lrt": pd.DataFrame()})
    assert md.section_mixed(empty)[-1] == "_Not fitted (see Notes)._\n"
    methods = "\n".join(md.section_methods(empty))
    assert "123 resamples" in methods and "45 simulated tables" in methods and "α = 0.05" in methods


def test_sections_do_not_import_torch():
    import subprocess
    import sys

    code = "import sys, initsens.report, initsens.reproduction.report; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"


def test_design_sentence_counts_in_the_right_number():
    (one,) = summary.design_summary(analysis({}))
    assert one.startswith("- **Design.** 4 runs: 1 model x 2 initializers x 1 depth, 2 seeds per combination; "
                          "0 runs failed")
    runs = pd.DataFrame({"model": ["M", "N", "M"], "depth": [1, 2, 1], "initializer": ["a", "a", "a"],
                         "seed": [0, 0, 1], "failed": [False, False, True]})
    (mixed,) = summary.design_summary(analysis({}, runs))
    assert mixed == ("- **Design.** 3 runs: 2 models x 1 initializer x 2 depths, 1–2 seeds per combination; "
                     "1 run failed (diverged, errored or without a finite `val_loss`) and is left out of the fits.")


def test_seeds_needed_is_infinite_for_a_tie_and_written_as_a_float():
    """A null result (two models equally sensitive) gives no finite number of seeds, and the table still writes."""
    import pyarrow as pa

    from initsens.analysis.sensitivity import seeds_needed

    assert seeds_needed(10, 0.2, 0.1) == 40.0  # 10 * (0.2 / 0.1)^2
    assert seeds_needed(10, 0.01, 0.1) == 11.0  # at least one more than now
    assert np.isinf(seeds_needed(10, 0.2, 0.0)) and np.isinf(seeds_needed(10, 0.2, 1e-300))
    column = pa.Table.from_pandas(pd.DataFrame({"seeds_needed": [40.0, np.inf, np.nan]}))["seeds_needed"]
    assert column.type == pa.float64()
    components = pd.DataFrame(columns=["model", "depth", "component", "variance", "share", "ci_low", "ci_high"])
    table = md.section_sensitivity(analysis({"sensitivity": pd.DataFrame([
        sensitivity_row(resolved=False, diff_next=0.0, seeds_needed=np.inf)]), "variance_components": components}),
        {})
    assert "| ∞ |" in "\n".join(table)
