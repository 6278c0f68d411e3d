"""The report's sections, one at a time, on small made-up tables whose sentences are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from initsens.analysis.study import Analysis
from initsens.report import markdown as md
from initsens.report import summary


def analysis(tables: dict, runs: pd.DataFrame | None = None, metric: str = "val_loss") -> Analysis:
    runs = (
        runs
        if runs is not None
        else pd.DataFrame(
            {
                "model": ["M"] * 4,
                "depth": [1] * 4,
                "initializer": ["a", "a", "b", "b"],
                "seed": [0, 1, 0, 1],
                "failed": [False] * 4,
            }
        )
    )
    return Analysis(
        metric,
        ["model", "depth"],
        ["model", "initializer", "depth"],
        False,
        runs,
        None,
        tables,
        settings={"alpha": 0.05, "n_boot": 123, "n_boot_icc": 45},
    )


def sensitivity_row(**values) -> dict:
    base = {
        "depth": 1,
        "model": "IWAE",
        "index": "omega_sq",
        "value": 0.9,
        "ci_low": 0.8,
        "ci_high": 0.95,
        "rank": 1,
        "next_model": "VanillaVAE",
        "diff_next": 0.2,
        "diff_ci_low": 0.1,
        "diff_ci_high": 0.3,
        "resolved": True,
        "seeds": 10,
        "seeds_needed": np.nan,
    }
    return {**base, **values}


def test_sensitivity_sentences():
    table = pd.DataFrame(
        [
            sensitivity_row(),
            sensitivity_row(depth=2, resolved=False, diff_ci_low=-0.1, seeds_needed=40),
            sensitivity_row(depth=3, resolved=False, diff_ci_low=-0.1, seeds_needed=5000),
            sensitivity_row(depth=4, next_model=np.nan),
            sensitivity_row(
                depth=5, resolved=False, diff_next=0.0, diff_ci_low=-0.1, seeds_needed=np.inf
            ),
            sensitivity_row(depth=1, model="VanillaVAE", rank=2),  # not rank 1: no sentence
            sensitivity_row(
                depth=6, resolved=False, diff_ci_low=-0.1, seeds=2, seeds_note="cannot say"
            ),
        ]
    ).assign(seeds_note=lambda t: t["seeds_note"].fillna(""))
    lines = summary.sensitivity_summary(analysis({"sensitivity": table}))
    assert len(lines) == 6 and lines[5].endswith(
        "How many seeds would: cannot say from 2 seeds (see Methods)."
    )
    assert lines[0] == (
        "- **Most sensitive (ω²), depth 1:** IWAE (ω² = 0.9, 95% CI [0.8, 0.95]), ahead of "
        "VanillaVAE by 0.2 (95% CI [0.1, 0.3])."
    )
    assert (
        "not resolved by these data" in lines[1]
        and "About 40 seeds per initializer (now 10)" in lines[1]
    )
    assert "Even 1000 seeds per initializer would likely not (now 10)" in lines[2]
    assert lines[3].endswith("IWAE is the only analyzable model.")
    assert lines[4].endswith("No number of seeds would: the difference is 0 or next to it.")


def test_failures_sentence_lists_initializers_and_significant_cells():
    failures = pd.DataFrame(
        {
            "model": ["M", "M", "N", "N"],
            "depth": 1,
            "initializer": ["a", "b", "a", "b"],
            "n_runs": 10,
            "n_failed": [0, 9, 0, 1],
            "fisher_p_holm": [0.001, 0.001, 0.9, 0.9],
        }
    )
    runs = pd.DataFrame(
        {"model": "M", "depth": 1, "initializer": "a", "seed": range(10), "failed": [True] * 10}
    )
    (sentence,) = summary.failures_summary(analysis({"failures": failures}, runs))
    assert sentence == (
        "- **Failures** by initializer: b 10. The failure rate depends on the initializer "
        "(Fisher exact, Holm-adjusted p < 0.05) in M, depth 1."
    )
    assert (
        summary.failures_summary(analysis({"failures": failures})) == []
    )  # nothing failed: no sentence


def test_effect_caution_and_best_sentences():
    """The headline says which test it trusts in each cell: Welch's where the spreads differ 2-fold
    or more.
    """
    oneway = pd.DataFrame(
        {
            "model": ["A", "B", "C"],
            "depth": 1,
            "p_holm": [0.01, 0.2, 0.03],
            "welch_p_holm": [0.01, 0.01, 0.5],
        }
    )
    desc = pd.DataFrame(
        {
            "model": list("AABBCC"),
            "depth": 1,
            "initializer": list("ababab"),
            "sd": [1.0, 1.2, 1.0, 3.0, 1.0, 1.9],
        }
    )  # B: 3-fold (Welch); A, C: below 2-fold
    a = analysis({"oneway_anova": oneway, "descriptives": desc})
    assert list(summary.unequal_spreads(a)) == [False, True, False]
    assert summary.effect_summary(a) == [
        "- **Initializer effect.** In 3 of 3 cells (model x depth) the initializer changes the "
        "mean `val_loss` (Holm-adjusted p < 0.05), judged by Welch's ANOVA in the 1 cell(s) whose "
        "spreads differ at least 2-fold, the classical ANOVA in the others, because the classical "
        "F assumes equal spreads. The classical ANOVA alone finds it in 2, Welch's in 2."
    ]
    assert "With 2 seeds per combination" in summary.caution_summary(a)[0]
    desc = pd.DataFrame(
        {
            "model": "M",
            "depth": [1, 1, 1, 2, 2],
            "initializer": ["a", "b", "c", "a", "b"],
            "mean": [1.0, 3.0, 2.0, 5.0, 4.0],
            "n": 2,
            "best": [True, False, True, False, True],
        }
    )
    assert summary.best_summary(analysis({"descriptives": desc})) == [
        "- **Best initializer and those the data cannot separate from it** (lowest mean "
        "`val_loss`; Games-Howell at α = 0.05: not separated is not shown to be as good): M, "
        "depth 1: a; not separated from it: c; M, depth 2: b; every other significantly worse."
    ]


def test_mixed_section_without_a_fit_and_methods_with_the_settings():
    empty = analysis({"mixed_model": pd.DataFrame(), "mixed_model_lrt": pd.DataFrame()})
    assert md.section_mixed(empty)[-1] == "_Not fitted (see Notes)._\n"
    methods = "\n".join(md.section_methods(empty))
    assert "123 resamples" in methods and "45 simulated tables" in methods and "α = 0.05" in methods


def test_sections_do_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, initsens.report, initsens.reproduction.report; print('torch' in sys.modules)"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
        == "False"
    )


def test_design_sentence_counts_in_the_right_number():
    (one,) = summary.design_summary(analysis({}))
    assert one.startswith(
        "- **Design.** 4 runs: 1 model x 2 initializers x 1 depth, 2 seeds per combination; "
        "0 runs failed"
    )
    runs = pd.DataFrame(
        {
            "model": ["M", "N", "M"],
            "depth": [1, 2, 1],
            "initializer": ["a", "a", "a"],
            "seed": [0, 0, 1],
            "failed": [False, False, True],
        }
    )
    (mixed,) = summary.design_summary(analysis({}, runs))
    assert mixed == (
        "- **Design.** 3 runs: 2 models x 1 initializer x 2 depths, 1–2 seeds per combination; 1 "
        "run failed (diverged, errored or without a finite `val_loss`) and is left out of the "
        "fits."
    )


def test_seeds_needed_is_infinite_for_a_tie_and_written_as_a_float():
    """A null result (two models equally sensitive) gives no finite number of seeds, and the table
    still writes.
    """
    import pyarrow as pa

    from initsens.analysis.sensitivity import seeds_needed

    assert seeds_needed(10, 0.2, 0.1) == 40.0  # 10 * (0.2 / 0.1)^2
    assert seeds_needed(10, 0.01, 0.1) == 11.0  # at least one more than now
    assert np.isinf(seeds_needed(10, 0.2, 0.0)) and np.isinf(seeds_needed(10, 0.2, 1e-300))
    column = pa.Table.from_pandas(pd.DataFrame({"seeds_needed": [40.0, np.inf, np.nan]}))[
        "seeds_needed"
    ]
    assert column.type == pa.float64()
    components = pd.DataFrame(
        columns=["model", "depth", "component", "variance", "share", "ci_low", "ci_high"]
    )
    table = md.section_sensitivity(
        analysis(
            {
                "sensitivity": pd.DataFrame(
                    [sensitivity_row(resolved=False, diff_next=0.0, seeds_needed=np.inf)]
                ),
                "variance_components": components,
            }
        ),
        {},
    )
    assert "| ∞ |" in "\n".join(table)


# -- the report says what the numbers say (issue #36): one small analysis whose every slip is known

#: Model M: a and b close, c far worse, d the worst mean with a spread 3 seeds cannot separate from
#: a. Model N: four initializers whose means differ less than their noise (negative ω²) and an ARI
#: that is the same in every run.
SLIPS = {
    ("M", "a"): [-1.0, 0.0, 1.0],
    ("M", "b"): [-0.5, 0.5, 1.5],
    ("M", "c"): [99.0, 100.0, 101.0],
    ("M", "d"): [-100.0, 200.0, 500.0],
    ("N", "a"): [0.0, 1.0, 2.0],
    ("N", "b"): [0.2, 1.0, 1.9],
    ("N", "c"): [0.1, 1.1, 1.8],
    ("N", "d"): [-0.1, 0.9, 2.1],
}


def slips_analysis():
    from initsens.analysis.study import analyze

    rows = [
        {
            "model": model,
            "initializer": init,
            "depth": 1,
            "seed": seed,
            "status": "ok",
            "val_loss": value,
            "ari": 0.958 if model == "N" else 0.5 + 0.01 * seed + 0.1 * "abcd".index(init),
        }
        for (model, init), values in SLIPS.items()
        for seed, value in enumerate(values)
    ]
    return analyze(pd.DataFrame(rows), n_boot=400, n_boot_icc=20)


def _omega_sq(groups: list[list[float]]) -> float:
    """ω² from its textbook formula, for the test."""
    values = np.concatenate(groups)
    ss_b = sum(len(g) * (np.mean(g) - values.mean()) ** 2 for g in groups)
    ss_w = sum(((np.asarray(g) - np.mean(g)) ** 2).sum() for g in groups)
    ms_w = ss_w / (len(values) - len(groups))
    return float((ss_b - (len(groups) - 1) * ms_w) / (ss_b + ss_w + ms_w))


def test_best_set_says_what_the_data_cannot_separate_from_the_best():
    """The set held d, M's worst mean, under 'Best initializer(s)'; N's set held every initializer
    without saying.
    """
    a = slips_analysis()
    desc = a.tables["descriptives"]
    assert set(desc[desc["best"] & (desc["model"] == "M")]["initializer"]) == {"a", "b", "d"}
    (sentence,) = summary.best_summary(a)
    assert sentence == (
        "- **Best initializer and those the data cannot separate from it** (lowest mean "
        "`val_loss`; Games-Howell at α = 0.05: not separated is not shown to be as good): M, "
        "depth 1: a; not separated from it: b, d (d has the cell's worst mean); N, depth 1: "
        "cannot separate any: all 4 are within noise of the best (d) with 3 seeds."
    )
    assert "Best initializer(s)" not in "\n".join(md.section_summary(a))


def test_best_set_comes_from_the_pairs_with_the_best_not_from_letter_a():
    """A level not separated from the best can share another letter with it than 'a': with q and r
    the only significant pair, the letters are p 'ab', q 'b', r 'a', and q, never compared
    unfavourably with p, lost its place in the set taken from letter 'a'.
    """
    from initsens.analysis.posthoc import letters
    from initsens.analysis.study import best_levels

    means = pd.Series({"p": 0.0, "q": 1.0, "r": 2.0, "s": 3.0, "t": 4.0})
    assert letters(means, [("q", "r")])[["p", "q", "r"]].tolist() == ["ab", "b", "a"]
    assert best_levels(means, [("q", "r")]) == {"p", "q", "r", "s", "t"}
    assert best_levels(means, [("p", "q"), ("p", "t")]) == {"p", "r", "s"}
    assert best_levels(means, [("q", "t"), ("s", "t")], higher_is_better=True) == {"t", "p", "r"}


def test_omega_sq_below_zero_is_reported_at_its_bound_with_the_raw_value_and_diffs_stay_shares():
    """N's ω² is below 0: printed beside [0, x] it lay outside its own interval, and M − N reached
    above 1.
    """
    a = slips_analysis()
    raw = _omega_sq([SLIPS[("N", i)] for i in "abcd"])
    assert raw < 0
    ow = a.tables["oneway_anova"].set_index("model")
    assert ow.loc["N", "omega_sq"] == pytest.approx(
        raw, rel=1e-9
    )  # the table keeps the estimator's own value
    sens = a.tables["sensitivity"].query("index == 'omega_sq'").set_index("model")
    assert (
        sens.loc["N", "value"] == 0.0 and sens.loc["N", "ci_low"] <= 0.0 <= sens.loc["N", "ci_high"]
    )
    assert sens.loc["M", "value"] == pytest.approx(
        _omega_sq([SLIPS[("M", i)] for i in "abcd"]), rel=1e-9
    )
    assert sens.loc["M", "diff_next"] == pytest.approx(sens.loc["M", "value"], rel=1e-9)
    assert (-1 <= sens["diff_ci_low"].dropna()).all() and (sens["diff_ci_high"].dropna() <= 1).all()
    cells = "\n".join(md.section_cells(a))
    assert f"ω² = 0 (raw {raw:.3g}: below 0, no detectable effect; see Methods)" in cells
    methods = "\n".join(md.section_methods(a))
    assert "A negative ω²" in methods and "reported as 0" in methods


def test_a_term_zero_by_construction_is_shown_as_such():
    """Standardized within each model, every model's mean is 0: the model row printed SS 0, F 0, p
    1.000.
    """
    a = slips_analysis()
    fa = a.tables["factorial_anova"]
    z = fa[(fa["metric"] == "val_loss (z within model)") & (fa["term"] == "model")]
    assert len(z) == 2 and z[["sum_sq", "f", "p_value", "partial_eta_sq"]].isna().all().all()
    assert (z["undefined"].str.startswith("zero by construction")).all()
    raw = fa[(fa["metric"] == "val_loss") & (fa["term"] == "model")]
    assert (raw["sum_sq"] > 0).all() and (raw["undefined"] == "").all()
    text = "\n".join(md.section_factorial(a))
    assert "| val_loss (z within model) | 2 | model † | – | 1 | – | – | – |" in text
    assert "† `model` on `val_loss (z within model)`: zero by construction" in text
    assert "| 0 | 1 | 0 | 1.000 |" not in text


def test_an_undefined_spearman_row_says_why_and_the_summary_names_the_model():
    """N's ARI is 0.958 in all 12 runs: its row was '–' with no reason, and the Summary dropped N
    silently.
    """
    a = slips_analysis()
    assoc = a.tables["association"].set_index(["model", "depth"])
    reason = "ari is 0.958 in all 12 runs, so ρ is undefined"
    assert assoc.loc[("N", "all"), "undefined"] == reason and np.isnan(
        assoc.loc[("N", "all"), "rho"]
    )
    assert assoc.loc[("M", "all"), "undefined"] == ""
    text = "\n".join(md.section_association(a, {}))
    assert f"| N | all | 12 | – ({reason}) |" in text
    (sentence,) = summary.association_summary(a)
    assert f"N: – ({reason})" in sentence and "M ρ = " in sentence


def test_report_p_values_keep_their_side_of_alpha():
    """A Games-Howell pair at p 0.0497 printed as (p 0.050) among the significant pairs."""
    a = analysis(
        {
            "descriptives": pd.DataFrame(
                {
                    "model": "M",
                    "depth": 1,
                    "initializer": ["a", "b"],
                    "n": 3,
                    "mean": [1, 2],
                    "sd": 1.0,
                    "median": 1.0,
                    "iqr": 1.0,
                    "ci_low": 0,
                    "ci_high": 3,
                    "letters": ["a", "b"],
                }
            ),
            "oneway_anova": pd.DataFrame(
                {
                    "model": ["M"],
                    "depth": [1],
                    "df_between": [1],
                    "df_within": [4],
                    "f": [7.7],
                    "p_value": [0.0501],
                    "p_holm": [0.0499],
                    "eta_sq": [0.6],
                    "omega_sq": [0.5],
                    "omega_sq_ci_low": [0.0],
                    "omega_sq_ci_high": [0.8],
                    "welch_df1": [1],
                    "welch_df2": [4],
                    "welch_f": [7.7],
                    "welch_p": [0.0099],
                    "kruskal_h": [3.9],
                    "kruskal_p": [0.0101],
                    "bf_f": [0.1],
                    "bf_p": [0.9],
                    "undefined": [""],
                }
            ),
            "posthoc": pd.DataFrame(
                {
                    "model": ["M"],
                    "depth": [1],
                    "method": ["games_howell"],
                    "group1": ["a"],
                    "group2": ["b"],
                    "mean_diff": [-1.0],
                    "p_adj": [0.0497],
                    "reject": [True],
                    "selected": [True],
                }
            ),
        }
    )
    text = "\n".join(md.section_cells(a))
    assert "a − b = -1 (p 0.0497)" in text
    assert "p 0.0501 (Holm 0.0499)" in text and "p 0.0099" in text and "p 0.0101" in text
