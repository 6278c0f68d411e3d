"""The library entry points (initsens.train, initsens.analyze, initsens.reproduce) agree with what
the command line writes, resume like it, and keep `import initsens` free of torch.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import initsens
from initsens.errors import InitsensError

TINY = {
    "models": "VanillaVAE,IWAE",
    "inits": "default,uniform",
    "depths": "1",
    "repeats": 2,
    "epochs": 2,
    "top_genes": 40,
    "hidden_dims": "8",
    "latent_dim": 3,
}


def test_train_returns_the_grid_and_resumes_and_analyze_reads_frames_and_folders(tmp_path):
    runs = initsens.train(out=tmp_path / "r", **TINY)
    assert len(runs) == 2 * 2 * 2 and set(runs["status"]) == {"ok"}
    on_disk = pd.read_parquet(tmp_path / "r" / "runs")
    assert sorted(runs["run_id"]) == sorted(on_disk["run_id"])
    again = initsens.train(out=tmp_path / "r", **TINY)  # resumable: nothing retrained, same runs
    assert sorted(again["finished_at"]) == sorted(runs["finished_at"])
    from_frame = initsens.analyze(runs, "val_loss", n_boot=50, n_boot_icc=10)
    from_folder = initsens.analyze(
        tmp_path / "r", "val_loss", n_boot=50, n_boot_icc=10, report=tmp_path / "rep" / "summary.md"
    )
    pd.testing.assert_frame_equal(
        from_frame.tables["oneway_anova"], from_folder.tables["oneway_anova"]
    )
    assert (tmp_path / "rep" / "summary.md").is_file()


def test_a_dry_run_returns_the_grid_and_writes_nothing_and_the_cluster_is_checked_by_the_library(
    tmp_path,
):
    from initsens.training.distributed import Cluster

    seen = []
    grid = initsens.train(out=tmp_path / "r", dry_run=True, on_plan=seen.append, **TINY)
    assert not (tmp_path / "r").exists() and len(seen) == 1 and seen[0].total == 8
    assert list(grid.columns) == [
        "run_id",
        "model",
        "initializer",
        "depth",
        "normalization",
        "init_scope",
        "seed",
        "recorded",
    ]
    assert len(grid) == 8 and not grid["recorded"].any() and grid["run_id"].is_unique
    trained = initsens.train(out=tmp_path / "r", **{**TINY, "models": "VanillaVAE"})
    again = initsens.train(
        out=tmp_path / "r", dry_run=True, **TINY
    )  # the VanillaVAE half is recorded now
    assert (
        set(again.loc[again["recorded"], "run_id"]) == set(trained["run_id"])
        and again["recorded"].sum() == 4
    )
    with pytest.raises(InitsensError, match="--threads-per-worker applies to --workers"):
        Cluster(threads_per_worker=2)


def test_settings_go_in_the_config_or_as_keywords(tmp_path):
    from initsens.training import SweepConfig

    with pytest.raises(InitsensError, match="not both"):
        initsens.train(SweepConfig.from_mapping(TINY), out=tmp_path, epochs=3)
    with pytest.raises(InitsensError, match="no such config file and no preset of that name"):
        initsens.train("no-such-preset", out=tmp_path)


@pytest.mark.slow
def test_reproduce_returns_the_verdicts(tmp_path):
    seen, summaries = [], []
    result = initsens.reproduce(
        ["initsens"],
        tmp_path / "out",
        tmp_path / "rep.md",
        ladder=False,
        both_defaults=False,
        n_boot=20,
        n_boot_icc=10,
        on_study=lambda study, plan: seen.append((study, plan.total)),
        on_trained=lambda study, summary: summaries.append(summary.trained),
        **{
            **TINY,
            "inits": "default,normal,uniform,xavier_normal,xavier_uniform",
            "normalizations": "zscore",
        },
    )
    assert [(s.name, total) for s, total in seen] == [("initsens", 20)] and summaries == [20]
    assert result is not None and result.report.is_file()
    primary = result.claims[
        (result.claims["check"] == "verdict") & (result.claims["scope"] == "source")
    ]
    assert sorted(primary["claim"]) == sorted(["P1", "P2", "P3", "P4", "E1", "E2"])
    assert (
        primary.set_index("claim").loc["P1", "verdict"] == "not testable"
    )  # two of the poster's four models


def test_reproduce_loads_each_distinct_data_once_before_any_study_trains(tmp_path, monkeypatch):
    """Nine studies (three protocols, both readings, the ladder) on one dataset: loaded (and its
    genes ranked) once per distinct set of data settings, all before the first study is planned, and
    each plan gets its study's load.
    """
    import initsens.training
    import initsens.training.sweep as sweep
    from initsens.reproduction.studies import plan_studies

    events: list = []
    load = sweep.load_dataset

    def counted_load(*args, **kwargs):
        events.append("load")
        return load(*args, **kwargs)

    def recorded_plan(config, out, *args, **kwargs):
        events.append(("plan", sweep.data_key(config), kwargs["loaded"][1]))
        raise KeyboardInterrupt  # planning the first study is enough: nothing trains

    monkeypatch.setattr(sweep, "load_dataset", counted_load)
    monkeypatch.setattr(initsens.training, "plan_sweep", recorded_plan)
    settings = {"repeats": 1, "top_genes": 40, "depths": "1"}
    studies = plan_studies(
        ["eltager2023", "eltager2023-pancan", "initsens"],
        settings,
        tmp_path,
        ladder=True,
        both_defaults=True,
    )  # reproduce's default protocols
    keys = {sweep.data_key(s.config) for s in studies}
    assert len(studies) > len(keys) >= 1
    with pytest.raises(KeyboardInterrupt):
        initsens.reproduce(out=tmp_path, report=tmp_path / "rep.md", **settings)
    assert events[:-1] == ["load"] * len(keys) and events[-1][0] == "plan"
    assert events[-1][2] == sweep.load_data(studies[0].config)[1]  # the first study's own transform
    assert not any(tmp_path.iterdir())  # nothing created before the first plan


def test_import_initsens_does_not_import_torch():
    code = "import sys, initsens; initsens.__version__; print('torch' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip()
        == "False"
    )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"alpha": 1.5}, "--alpha must lie strictly between 0 and 1, got 1.5"),
        ({"alpha": 0.0}, "--alpha must lie strictly between 0 and 1, got 0.0"),
        ({"n_boot": 0}, "--n-boot and --n-boot-icc must be at least 1"),
    ],
)
def test_the_analysis_options_are_checked_by_the_library_before_any_work(
    tmp_path, options, message
):
    """The same one line from initsens.analyze (a notebook), initsens.reproduce (before anything is
    trained or created) and the command line.
    """
    runs = pd.DataFrame(
        {
            "model": ["A"] * 4,
            "depth": 1,
            "initializer": ["x", "x", "y", "y"],
            "seed": [0, 1, 0, 1],
            "val_loss": [1.0, 1.1, 2.0, 2.1],
        }
    )
    with pytest.raises(InitsensError, match=f"^{message}$"):
        initsens.analyze(runs, **options)
    with pytest.raises(InitsensError, match=f"^{message}$"):
        initsens.reproduce(out=tmp_path / "results", report=tmp_path / "r.md", **options)
    assert not (tmp_path / "results").exists()
    flags = [f"--{key.replace('_', '-')}={value}" for key, value in options.items()]
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from initsens.cli import main; main()",
            "reproduce",
            *flags,
            "--out",
            str(tmp_path / "results"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and result.stderr.strip() == f"error: {message}"
