"""What `initsens reproduce` plans (initsens.reproduction.studies) and how the judge shows a rung
that is not completely trained.
"""

from __future__ import annotations

import pandas as pd
import pytest

from initsens.errors import InitsensError
from initsens.reproduction.diagnostics import ladder_table
from initsens.reproduction.report.sections import ladder_section
from initsens.reproduction.result import StudyResult
from initsens.reproduction.studies import (
    KEEPS_SUBNORMALS,
    ORIGINAL_SCALE,
    PANCAN_EPOCH_STEPS,
    PANCAN_TRAIN,
    Ablation,
    plan_studies,
)

GRID = {"repeats": 2, "depths": "1,2", "normalizations": "zscore,minmax"}


def test_protocols_carry_their_own_default_and_train_the_other_reading_too(tmp_path):
    studies = {
        s.name: s for s in plan_studies(["eltager2023", "initsens"], GRID, tmp_path, ladder=False)
    }
    assert (
        studies["eltager2023"].default == "kaiming_uniform"
        and studies["initsens"].default == "default"
    )
    for study in studies.values():
        assert set(study.config.inits) == {
            "default",
            "kaiming_uniform",
            "normal",
            "uniform",
            "xavier_normal",
            "xavier_uniform",
        }
        assert study.folder == tmp_path / study.name and study.kind == "protocol"
    own = {
        s.name: s
        for s in plan_studies(
            ["eltager2023", "initsens"], GRID, tmp_path, ladder=False, both_defaults=False
        )
    }
    assert (
        "default" not in own["eltager2023"].config.inits
        and "kaiming_uniform" not in own["initsens"].config.inits
    )


def test_without_settings_every_protocol_plans_the_posters_grid_as_the_command_does(tmp_path):
    """initsens.reproduce() and scripts/permuted_null.py pass no grid settings: the presets alone
    train z-score, so they used to judge half the grid the command trains (P1 and P4 came out not
    testable on a shuffled copy of the committed runs for want of min-max).
    """
    for study in plan_studies(
        ["eltager2023", ORIGINAL_SCALE, "initsens"], {}, tmp_path, ladder=False
    ):
        cfg = study.config
        assert (cfg.normalizations, cfg.depths, cfg.seeds) == (
            ("zscore", "minmax"),
            (1, 2),
            tuple(range(10)),
        )
        assert len(cfg.runs()) == 4 * 6 * 2 * 2 * 10
    rungs = [s for s in plan_studies([], {}, tmp_path) if s.kind == "rung"]
    assert {s.config.normalizations for s in rungs} == {("zscore",)}  # a rung's own setting wins
    narrow = plan_studies(
        ["initsens"], {"normalizations": "minmax", "repeats": 2}, tmp_path, ladder=False
    )[0]
    assert narrow.config.normalizations == ("minmax",) and narrow.config.seeds == (0, 1)


def test_a_running_setting_reaches_every_study(tmp_path):
    """--denormals keep (IEEE arithmetic instead of the CPU default, flush) applies to the
    protocols, ablations and rungs.
    """
    studies = plan_studies(
        ["eltager2023", "initsens"],
        {**GRID, "denormals": "keep"},
        tmp_path,
        [Ablation.parse("eltager2023:clustering=kmeans")],
    )
    assert len(studies) == 9 and all(s.config.denormals == "keep" for s in studies)
    fixed = plan_studies(
        ["eltager2023", "eltager2023-pancan"], GRID, tmp_path
    )  # the default, flush, except where
    assert {s.name for s in fixed if s.config.denormals == "keep"} == {
        "eltager2023-pancan",
        "kl-8850+steps-138",
    }
    assert all(s.config.denormals == "flush" for s in fixed if s.name not in KEEPS_SUBNORMALS)
    with pytest.raises(
        InitsensError, match="unknown --denormals 'zero'; choose one of: keep, flush"
    ):
        plan_studies(["initsens"], {**GRID, "denormals": "zero"}, tmp_path, ladder=False)


def test_the_ladder_moves_the_kl_weight_and_the_step_schedule_as_fixed_in_code(tmp_path):
    studies = [s for s in plan_studies([], GRID, tmp_path) if s.kind == "rung"]
    assert [s.name for s in studies] == [
        "kl-247",
        "kl-1000",
        "kl-3000",
        "kl-8850",
        "steps-138",
        "kl-8850+steps-138",
    ]
    for study in studies:
        cfg, rung = study.config, study.rung
        shared = (
            rung is not None and rung.name == "kl-8850+steps-138"
        )  # (c)'s runs live with the grid's
        assert rung is not None and study.folder == (
            tmp_path / ORIGINAL_SCALE if shared else tmp_path / "ladder" / rung.name
        )
        assert (
            cfg.preset == "eltager2023"
            and cfg.normalizations == ("zscore",)
            and study.default == "kaiming_uniform"
        )
        # the KL weight divides the batch by N_train (tcga5's own split where the rung does not move
        # it)
        assert cfg.mn_split(247, 62) == (
            (rung.n_train, rung.n_train // 4) if rung.n_train != 247 else (247, 62)
        )
        assert cfg.epoch_steps == rung.epoch_steps
        if rung.epoch_steps:
            assert cfg.models == ("VanillaVAE", "IWAE") and cfg.depths == (1,)
        else:
            assert len(cfg.models) == 4 and cfg.depths == (1, 2)
    by_name = {s.name: s for s in studies}
    assert by_name["kl-8850+steps-138"].config.mn_sizes == (PANCAN_TRAIN, 2212)
    assert by_name["steps-138"].config.epoch_steps == PANCAN_EPOCH_STEPS == 138


def test_the_original_scale_trains_its_grid_in_phases_fixed_in_code(tmp_path):
    """eltager2023-pancan on the poster's grid: z-score, then min-max, then the other reading of
    "the default"; the phases partition the grid, keep the run ids, and rung (c)'s runs are the
    grid's own (same ids, same folder).
    """
    studies = {s.name: s for s in plan_studies([ORIGINAL_SCALE], {**GRID, "repeats": 10}, tmp_path)}
    grid, rung = studies[ORIGINAL_SCALE], studies["kl-8850+steps-138"]
    assert (
        grid.default == "kaiming_uniform"
        and grid.folder == rung.folder == tmp_path / ORIGINAL_SCALE
    )
    phases = grid.phase_runs()
    assert [(p.label, len(runs)) for p, runs in phases] == [
        ("z-score", 400),
        ("min-max", 400),
        ("the other default", 160),
    ]
    assert (
        {s.normalization for s in phases[0][1]} == {"zscore"}
        and {s.normalization for s in phases[1][1]} == {"minmax"}
        and {s.initializer for s in phases[2][1]} == {"default"}
    )
    ids = [[s.run_id("sha") for s in runs] for _, runs in phases]
    assert sorted(sum(ids, [])) == sorted(
        s.run_id("sha") for s in grid.config.runs()
    )  # a partition of the grid
    for (_, runs), phase_ids in zip(phases, ids):
        assert [
            s.run_id("sha") for s in grid.phase_config(runs).runs()
        ] == phase_ids  # same runs, same order
    assert {s.run_id("sha") for s in rung.config.runs()} <= set(
        ids[0]
    )  # rung (c): 100 of the z-score phase
    assert len(rung.config.runs()) == 100 and rung.phases == tuple(p for p, _ in rung.phase_runs())
    own = plan_studies([ORIGINAL_SCALE], GRID, tmp_path, ladder=False, both_defaults=False)[0]
    assert [p.label for p, _ in own.phase_runs()] == ["z-score", "min-max"]


def test_a_bad_ablation_or_setting_fails_before_anything_is_planned(tmp_path):
    with pytest.raises(InitsensError, match="unknown preset 'nope'"):
        plan_studies(["eltager2023"], GRID, tmp_path, [Ablation.parse("nope:clustering=kmeans")])
    with pytest.raises(InitsensError, match="--orientation"):
        plan_studies(["initsens"], {**GRID, "orientation": "sideways"}, tmp_path, ladder=False)
    assert not any(tmp_path.iterdir())


def test_a_rung_not_completely_trained_shows_how_far_it_got_and_no_verdict(tmp_path):
    study = next(s for s in plan_studies([], GRID, tmp_path) if s.name == "steps-138")
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "model": "IWAE",
            "initializer": "uniform",
            "status": "ok",
            "batch_size": 64,
            "n_train": 247,
            "epochs_trained": [10, 20, 30],
            "settings": '{"epoch_steps": 138, "drop_last": true}',
            "val_kl": [1.0, 2.0, 3.0],
            "ari": [0.1, 0.2, 0.3],
            "val_recon_mse": 0.9,
        }
    )
    partial = StudyResult(study, runs, pd.DataFrame(), pd.DataFrame(), trained=3, expected=40)
    row = ladder_table([partial]).iloc[0]
    assert (row["trained"], row["expected"], row["epoch_steps"]) == (3, 40, 138)
    assert (
        row["median_steps"] == 20 * 138
        and row["median_val_kl"] == 2.0
        and row["mn_train"] == 64 / 247
    )
    assert all(row[key] == "" for key in ("P1", "P2", "P3", "P4", "E1", "E2"))
    text = "\n".join(ladder_section(ladder_table([partial]), None))
    assert "| 3 of 40 |" in text and "| – | – | – | – | – | – |" in text


def test_a_ladder_with_no_run_trained_is_drawn_and_shown_as_0_of_n(tmp_path):
    """A results folder holding the protocols but no ladder: every rung 0 of N, the figure drawn
    (its log axis used to fail on medians that are all NaN: "Data cannot be log-scaled"), the table
    says 0 of N and no verdict.
    """
    from initsens.reproduction.report import ladder_plot
    from initsens.reproduction.verdicts import study_result

    rungs = [s for s in plan_studies([], GRID, tmp_path) if s.kind == "rung"]
    results = [study_result(study, 0.05)[0] for study in rungs]
    assert [r.trained for r in results] == [0] * 6 and not any(r.judged for r in results)
    ladder = ladder_table(results)
    assert ladder_plot(ladder, tmp_path / "ladder.png").stat().st_size > 0
    text = "\n".join(ladder_section(ladder, None))
    assert text.count("| 0 of ") == 6 and "not completely trained yet" in text.lower()


@pytest.mark.slow
def test_the_ladder_trains_and_is_judged_on_both_metrics(tmp_path):
    """The ladder end to end on a tiny grid (two models, one depth, two seeds, one epoch): every
    rung trained into its folder with its own KL weight and step schedule, judged on the claim's
    metric and on val_nelbo.
    """
    from initsens.reproduction.judge import judge
    from initsens.training import plan_sweep, run_sweep

    tiny = {
        "repeats": 2,
        "depths": "1",
        "normalizations": "zscore",
        "epochs": 1,
        "top_genes": 40,
        "hidden_dims": "8",
        "latent_dim": 3,
        "models": "VanillaVAE,IWAE",
    }
    studies = [s for s in plan_studies([], tiny, tmp_path / "results") if s.kind == "rung"]
    for study in studies[:-1]:  # the last rung stays untrained: the report must say so
        run_sweep(plan_sweep(study.config, study.folder))
    result = judge(studies, tmp_path / "rep.md", "test", n_boot=20, n_boot_icc=10)
    ladder = pd.read_parquet(tmp_path / "rep" / "tables" / "ladder.parquet")
    assert ladder["rung"].tolist() == [s.name for s in studies]
    assert ladder["trained"].tolist() == [20] * 5 + [0] and (ladder["expected"] == 20).all()
    assert ladder["epoch_steps"].tolist()[:5] == [
        3,
        3,
        3,
        3,
        PANCAN_EPOCH_STEPS,
    ]  # tcga5: floor(247 / 64)
    assert (ladder["median_steps"].iloc[:4] == 3).all() and ladder["median_steps"].iloc[
        4
    ] == PANCAN_EPOCH_STEPS
    runs = pd.read_parquet(tmp_path / "results" / "ladder" / "kl-8850" / "runs")
    assert (
        set(runs["normalization"]) == {"zscore"}
        and '"mn_sizes": [8850, 2212]' in runs["settings"].iloc[0]
    )
    judged = {r.name: r for r in result.results}
    for name in ("kl-247", "kl-8850", "steps-138"):
        assert judged[name].verdict("P4") == "not testable"  # one normalization
        assert judged[name].verdict("P2") and judged[name].verdict("P2", "val_nelbo")
    assert ladder.iloc[-1][["P1", "P2", "E1"]].tolist() == ["", "", ""]  # untrained: no verdict
    text = (tmp_path / "rep.md").read_text()
    assert "| 0 of 20 |" in text and "kl-8850+steps-138" in text
    assert (tmp_path / "rep" / "figures" / "ladder.png").stat().st_size


def _judged(study, normalizations: tuple[str, ...] = ("zscore",)) -> StudyResult:
    """``study`` judged on made-up runs: four models x five initializers x 3 seeds at depth 1,
    z-score (60 runs) or each of ``normalizations``.
    """
    import numpy as np

    from initsens.reproduction.result import PhaseProgress
    from initsens.reproduction.verdicts import judge_runs, verdict_table

    rng = np.random.default_rng(1)
    runs = pd.DataFrame(
        [
            {
                "model": m,
                "initializer": i,
                "depth": 1,
                "normalization": n,
                "seed": s,
                "status": "ok",
                "run_id": f"{m}-{i}-{n}-{s}",
                "val_loss": 100.0 + rng.normal(),
                "ari": 0.5,
                "device": "cpu",
            }
            for m in ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE")
            for i in ("default", "normal", "uniform", "xavier_normal", "xavier_uniform")
            for n in normalizations
            for s in range(3)
        ]
    )
    runs["val_nelbo"] = runs["val_loss"]
    evidence = judge_runs(runs, study.default, 0.05)
    return StudyResult(
        study,
        runs,
        evidence,
        verdict_table(evidence),
        len(runs),
        len(runs),
        phases=[PhaseProgress(study.phases[0], len(runs), len(runs), True)],
    )


def test_a_study_with_nothing_judged_yet_says_so_in_the_methods_and_the_figures_legend(
    monkeypatch, tmp_path
):
    """The original scale before its z-score phase is complete: its methods line says none is judged
    yet (not "0 ok, 0 diverged" beside runs that are trained) and its legend entry in a claim's
    figure says why it has no points, beside a judged study's plain name.
    """
    from initsens.reproduction.report import figures
    from initsens.reproduction.report.context import Context
    from initsens.reproduction.report.sections import methods
    from initsens.reproduction.verdicts import study_result

    studies = {
        s.name: s
        for s in plan_studies(
            ["initsens", ORIGINAL_SCALE], {**GRID, "repeats": 10}, tmp_path, ladder=False
        )
    }
    waiting = study_result(studies[ORIGINAL_SCALE], 0.05)[0]
    assert not waiting.judged and waiting.trained == 0
    judged = _judged(studies["initsens"])
    labels: list[str] = []
    monkeypatch.setattr(
        figures,
        "_save",
        lambda fig, dest: (
            labels.extend(t.get_text() for t in fig.axes[0].get_legend().get_texts()) or dest
        ),
    )
    figures.forest_plot("P1", [judged, waiting], tmp_path / "p1.png")
    assert labels[:2] == ["initsens", f"{ORIGINAL_SCALE} (not judged: 0 of 960 runs trained)"]
    context = Context(
        "initsens reproduce", {}, {}, {"initsens": 60.0, ORIGINAL_SCALE: 0.0}, 0.05, "t", {}
    )
    lines = {
        line.split("**")[1]: line
        for line in methods([judged, waiting], context)
        if line.startswith("- **")
    }
    assert (
        "(60 ok, 0 diverged, 0 failed judged; 0 reached the epoch cap), on cpu, 1.0 min"
        in lines["initsens"]
    )
    assert (
        "0 of 960 runs (z-score: 0 of 400 trained; min-max: 0 of 400 trained; the other default: "
        "0 of 160 trained) (none judged yet: a phase is judged once it and every phase before it "
        "are complete), 0.0 min" in lines[ORIGINAL_SCALE]
    )


def test_the_nulls_are_counted_per_protocol_and_claim_with_exact_intervals_and_a_stale_one_says_so(
    tmp_path,
):
    """scripts/permuted_null.py's verdicts (as its CSV holds them) become one row per null and
    protocol: the times each claim came out contradicted with its exact 95% interval (scipy's
    binomtest here), ▲ where the count is significantly above 5%; a protocol permuted on fewer runs
    than are judged now says so; in the centred null a P2/P3 contradiction decided by failures only
    is not counted.
    """
    from scipy.stats import binomtest

    from initsens.reproduction.claims import RULES_VERSION
    from initsens.reproduction.report.sections import null_section

    def cell(count: int, worlds: int = 4) -> str:
        ci = binomtest(count, worlds).proportion_ci(0.95, method="exact")
        above = binomtest(count, worlds, 0.05, alternative="greater").pvalue < 0.05
        text = f"{count} ({100 * count / worlds:.1f}% [{100 * ci.low:.1f}, {100 * ci.high:.1f}])"
        return text + (" ▲" if above else "")

    studies = {
        s.name: s for s in plan_studies(["eltager2023", "initsens"], GRID, tmp_path, ladder=False)
    }
    results = [_judged(studies["eltager2023"]), _judged(studies["initsens"])]
    # eltager2023's own reading is kaiming_uniform: its judged own runs are the 48 not read as
    # nn.Linear's "default"
    verdicts = {
        ("initsens", 0, "P2"): "contradicted",
        ("initsens", 2, "P2"): "contradicted",
        ("initsens", 2, "E1"): "contradicted",
        ("eltager2023", 1, "P4"): "contradicted",
        ("eltager2023", 1, "P2"): "contradicted",  # by failures: not counted in the centred null
    }
    verdicts.update(
        {("eltager2023", i, "E2"): "contradicted" for i in range(4)}
    )  # as the shuffle cannot move it
    null = pd.DataFrame(
        [
            {
                "protocol": p,
                "null": kind,
                "rules": RULES_VERSION,
                "runs": runs,
                "permutation": i,
                "claim": c,
                "verdict": verdicts.get((p, i, c), "unresolved"),
                "contradicted_by": "failures" if (p, i, c) == ("eltager2023", 1, "P2") else "",
            }
            for kind in ("permuted", "centred")
            for p, runs in (("eltager2023", 48), ("initsens", 15))
            for i in range(4)
            for c in ("P1", "P2", "P3", "P4", "E1", "E2")
        ]
    )
    for result in (
        results
    ):  # the real verdicts, set here: supported everywhere, so no permutation matches them
        v = result.verdicts
        v.loc[(v["check"] == "verdict") & (v["scope"] == "source"), "verdict"] = "supported"
    text = "\n".join(null_section(null, results))
    row = "| eltager2023 | {} | 48 | 4 | {} |"
    assert row.format("permuted", " | ".join(map(cell, (0, 1, 0, 1, 0, 4)))) in text
    # P1, P4 and E1 count failures against their initializer, kept by the centred null: ‡, never ▲
    centred = [cell(0) + " ‡", cell(0), cell(0), cell(1) + " ‡", cell(0) + " ‡", cell(4)]
    assert row.format("centred", " | ".join(centred)) in text
    assert (
        "| initsens | permuted | 15 (judged now: 60) | 4 | "
        + " | ".join(map(cell, (0, 2, 0, 0, 1, 0)))
        + " |"
    ) in text
    assert cell(2).endswith("▲") and not cell(1).endswith("▲")  # 2 of 4 at 5%: p = 0.014
    # a claim every world judges as the real runs are judged is marked: no error rate, so never ▲
    results[0].verdicts.loc[
        (results[0].verdicts["claim"] == "E2")
        & (results[0].verdicts["check"] == "verdict")
        & (results[0].verdicts["scope"] == "source"),
        "verdict",
    ] = "contradicted"
    fixed = cell(4).removesuffix(" ▲") + " †"
    assert row.format("permuted", " | ".join([*map(cell, (0, 1, 0, 1, 0)), fixed])) in (
        "\n".join(null_section(null, results))
    )
    assert null_section(pd.DataFrame(), results) == []


def test_where_protocols_disagree_a_study_judged_on_one_normalization_is_matched_cell_by_cell(
    monkeypatch, tmp_path
):
    """The original scale's z-score phase names its cells without the normalization ("IWAE, depth
    1"), the other protocols with it: the disagreement lines match them cell by cell (they used to
    list every cell as nan for one study or the other) and show – where a study has no such cell
    (its min-max, not trained yet).
    """
    from initsens.reproduction.report.sections import disagreements

    studies = {
        s.name: s
        for s in plan_studies(["eltager2023", ORIGINAL_SCALE], GRID, tmp_path, ladder=False)
    }
    both = _judged(studies["eltager2023"], ("zscore", "minmax"))
    phase = _judged(studies[ORIGINAL_SCALE])
    cells = {
        r.name: set(r.primary().loc[r.primary()["claim"] == "P2", "where"]) for r in (both, phase)
    }
    assert "IWAE, depth 1" in cells[ORIGINAL_SCALE] and "IWAE, depth 1" not in cells["eltager2023"]
    for result, verdict in (
        (both, "supported"),
        (phase, "contradicted"),
    ):  # P2 judged differently, claim-wide
        v = result.verdicts
        v.loc[
            (v["claim"] == "P2") & (v["check"] == "verdict") & (v["scope"] == "source"), "verdict"
        ] = verdict
    phase.evidence.loc[
        (phase.evidence["claim"] == "P2") & (phase.evidence["where"] == "IWAE, depth 1"), "verdict"
    ] = "contradicted"
    both.evidence.loc[both.evidence["claim"] == "P2", "verdict"] = "supported"
    line = next(
        x for x in disagreements([both, phase]) if x.startswith("  Sub-results") and "IWAE" in x
    )
    assert (
        f"IWAE, depth 1, normalization zscore (eltager2023 supported, {ORIGINAL_SCALE} "
        "contradicted)" in line
    )
    assert (
        f"IWAE, depth 1, normalization minmax (eltager2023 supported, {ORIGINAL_SCALE} –)" in line
    )
    assert "nan" not in line and "IWAE, depth 1 (" not in line
    from initsens.reproduction.report import (
        figures,
    )  # the claim's figure puts both studies on the same rows

    ticks: list[str] = []
    monkeypatch.setattr(
        figures,
        "_save",
        lambda fig, dest: ticks.extend(t.get_text() for t in fig.axes[0].get_yticklabels()) or dest,
    )
    figures.forest_plot("P2", [both, phase], tmp_path / "p2.png")
    assert "IWAE, depth 1, normalization zscore" in ticks and "IWAE, depth 1" not in ticks
