"""The reference trainer, the sweep, and the Parquet results: resume, force, kill and readers."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch

from initsens.data import load_dataset, prepare
from initsens.results.schema import SCHEMA_VERSION
from initsens.training import ResultsStore, SweepConfig, plan_sweep, run_sweep, train_run
from initsens.training.clustering import adjusted_rand
from initsens.training.loop import EarlyStopping, batch_count, batches, subnormals

SMALL = {"top_genes": 40, "hidden_dims": "16", "latent_dim": 3, "epochs": 3, "batch_size": 32}
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def data():
    return prepare(load_dataset("synthetic"), top_genes=40)


def small(**changes) -> SweepConfig:
    return SweepConfig.from_mapping({**SMALL, **changes})


def test_early_stopping_rule():
    stopper, stops = EarlyStopping(patience=2, min_delta=0.5), []
    for epoch, value in enumerate([10.0, 9.0, 8.8, 8.7, 7.0, 7.2, 7.1], start=1):
        stopper.update(value, epoch)
        stops.append(stopper.stop)
    assert stopper.best_epoch == 5 and stopper.best == 7.0
    assert stops == [
        False,
        False,
        False,
        True,
        False,
        False,
        True,
    ]  # 8.8 and 8.7 are not 0.5 better than 9


def test_batches_cover_every_sample_once_and_never_leave_one_alone():
    rng = np.random.default_rng(0)
    for n, size in ((10, 4), (9, 4), (8, 4)):
        parts = batches(n, size, rng)
        joined = np.concatenate(parts)
        assert all(len(p) >= 2 for p in parts) and len(set(joined)) == len(joined)
        assert len(joined) == (n - 1 if n % size == 1 else n)


def test_batch_count_is_the_number_of_batches_made():
    """The report's optimizer steps per epoch count what training does (a lone trailing sample is
    dropped).
    """
    rng = np.random.default_rng(0)
    for n in (247, 248, 249, 256, 257, 62, 3):
        for drop_last in (False, True):
            assert batch_count(n, 64, drop_last) == len(batches(n, 64, rng, drop_last)), (
                n,
                drop_last,
            )
    assert (
        batch_count(247, 64, True) == 3 and batch_count(257, 64) == 4
    )  # 257 = 4 x 64 + a lone sample


def test_adjusted_rand_on_known_clusterings():
    rng = np.random.default_rng(1)
    labels = np.repeat(["a", "b", "c"], 30)
    separated = np.repeat(np.eye(3) * 20, 30, axis=0) + rng.normal(size=(90, 3))
    assert adjusted_rand(separated, labels, 0) == pytest.approx(1.0)
    assert abs(adjusted_rand(rng.normal(size=(90, 3)), labels, 0)) < 0.1
    assert math.isnan(adjusted_rand(separated, None, 0))


def test_run_is_deterministic_and_reports_its_best_epoch(data):
    spec = small(models="InfoVAE", inits="xavier_normal", depths="2", seeds="3", epochs=4).runs()[0]
    first, second = train_run(spec, data, CPU), train_run(spec, data, CPU)
    assert first.status == "ok" and first.history == second.history
    val = [r.val_loss for r in first.history]
    assert first.best_epoch == int(np.argmin(val)) + 1 and first.val_loss == min(val)
    best = first.history[first.best_epoch - 1]
    assert (first.val_nelbo, first.val_kl, first.train_loss) == (
        best.val_nelbo,
        best.val_kl,
        best.train_loss,
    )
    assert 0.0 < first.ari <= 1.0


def test_flushing_subnormals_is_scoped_to_the_fit_recorded_per_run_and_not_in_the_run_id(
    data, tmp_path
):
    """denormals (default flush): subnormal floats read as zero while a fit runs on the CPU and are
    IEEE again after; a flushed run and a kept one share one run id (the id they had before flushing
    became the default), the runs table records which arithmetic each used, and the results agree to
    rounding.
    """
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU cannot flush subnormal floats")
    torch.set_flush_denormal(False)
    subnormal = torch.tensor([1e-39])  # below float32's smallest normal, 1.18e-38
    grid = {"models": "IWAE", "inits": "default", "depths": "1", "repeats": 1}
    flush, keep = small(**grid), small(**grid, denormals="keep")
    assert flush.denormals == "flush"
    with subnormals(flush, CPU):
        assert (subnormal * 1.0).item() == 0.0
    with subnormals(keep, CPU):
        assert (subnormal * 1.0).item() == pytest.approx(1e-39, rel=1e-3)
    kept_spec, flushed_spec = keep.runs()[0], flush.runs()[0]
    assert "denormals" not in flushed_spec.identity("x") and kept_spec.run_id(
        "x"
    ) == flushed_spec.run_id("x")
    kept, flushed = train_run(kept_spec, data, CPU), train_run(flushed_spec, data, CPU)
    assert flushed.status == kept.status == "ok"
    assert flushed.val_nelbo == pytest.approx(kept.val_nelbo, rel=1e-3)
    assert (subnormal * 1.0).item() > 0.0  # the fit gave IEEE arithmetic back
    run_sweep(plan_sweep(flush, tmp_path / "flush"))
    run_sweep(plan_sweep(keep, tmp_path / "keep"))
    recorded = {
        name: pd.read_parquet(tmp_path / name / "runs")["denormals"].tolist()
        for name in ("flush", "keep")
    }
    assert recorded == {"flush": ["flush"], "keep": ["keep"]}
    assert not plan_sweep(
        keep, tmp_path / "flush"
    ).todo  # the flushed run counts for a kept one: same id


def test_patience_stops_training(data):
    spec = small(
        models="VanillaVAE",
        inits="default",
        depths="1",
        seeds="0",
        epochs=10,
        patience=2,
        min_delta=1e12,
    ).runs()[0]
    result = train_run(spec, data, CPU)
    assert (result.epochs_trained, result.best_epoch) == (3, 1)


def test_paired_runs_share_minibatch_order_and_noise(data, monkeypatch):
    seen: dict[str, list] = {}
    import initsens.training.loop as loop

    original = loop.batches

    def spy(n, size, order, drop_last=False):
        parts = original(n, size, order, drop_last)
        seen.setdefault(current, []).append(np.concatenate(parts))
        return parts

    monkeypatch.setattr(loop, "batches", spy)
    cfg = small(
        models="VanillaVAE", inits="default,xavier_uniform", depths="1", seeds="0,1", epochs=2
    )
    for spec in cfg.runs():
        current = f"{spec.initializer}-{spec.seed}"
        train_run(spec, data, CPU)
    for seed in (0, 1):
        for a, b in zip(seen[f"default-{seed}"], seen[f"xavier_uniform-{seed}"]):
            np.testing.assert_array_equal(a, b)
    assert not np.array_equal(seen["default-0"][0], seen["default-1"][0])


def test_divergence_is_recorded(data):
    spec = small(
        models="LogCoshVAE",
        inits="uniform",
        depths="1",
        seeds="0",
        hidden_dims="512",
        init_scope="all",
    ).runs()[0]
    result = train_run(spec, data, CPU)
    assert result.status == "diverged" and result.best_epoch == 0 and math.isnan(result.val_loss)
    assert result.epochs_trained == 1 and math.isnan(result.ari)


def test_sweep_writes_tidy_parquet_and_resumes(tmp_path):
    cfg = small(models="VanillaVAE,IWAE", inits="default,uniform", depths="1,2", seeds="0,1")
    first = run_sweep(plan_sweep(cfg, tmp_path))
    assert (first.total, first.trained, first.skipped) == (16, 16, 0)
    runs = pd.read_parquet(tmp_path / "runs")
    epochs = pd.read_parquet(tmp_path / "epochs")
    assert len(runs) == 16 and runs["run_id"].is_unique
    assert set(runs["status"]) <= {"ok", "diverged"}  # with 16 hidden units U(0,1) need not diverge
    assert set(runs.loc[runs.initializer == "default", "status"]) == {"ok"}
    counts = epochs.groupby("run_id").size()
    assert (counts.reindex(runs["run_id"]).to_numpy() == runs["epochs_trained"].to_numpy()).all()
    assert set(runs["hidden_dims"]) == {"16", "16-8"} and set(runs["n_genes"]) == {40}
    assert (
        str(runs["finished_at"].dt.tz) == "UTC" and (runs["schema_version"] == SCHEMA_VERSION).all()
    )
    second = run_sweep(plan_sweep(cfg, tmp_path))
    assert (second.trained, second.skipped) == (0, 16)
    forced = run_sweep(plan_sweep(cfg, tmp_path, force=True))
    assert forced.trained == 16
    again = pd.read_parquet(tmp_path / "runs")
    assert (
        len(again) == 16
        and again["run_id"].is_unique
        and set(again["run_id"]) == set(runs["run_id"])
    )
    assert len(pd.read_parquet(tmp_path / "epochs")) == len(epochs)
    # IWAE's own metric: one row per IWAE epoch (val_ess, between 1 and K = 5 where finite), none
    # for VanillaVAE
    metrics = pd.read_parquet(tmp_path / "metrics")
    iwae_epochs = epochs.merge(again[["run_id", "model"]]).query("model == 'IWAE'")
    assert (
        set(metrics["metric"]) == {"val_ess"} and not metrics.duplicated(["run_id", "epoch"]).any()
    )
    assert sorted(zip(metrics["run_id"], metrics["epoch"])) == sorted(
        zip(iwae_epochs["run_id"], iwae_epochs["epoch"])
    )
    finite = metrics["value"].dropna()
    assert len(finite) and ((finite >= 1 - 1e-9) & (finite <= 5 + 1e-9)).all()


def test_remove_runs_rewrites_the_metrics_parts(tmp_path):
    cfg = small(models="InfoVAE", inits="default", depths="1", seeds="0,1,2")
    run_sweep(plan_sweep(cfg, tmp_path))
    runs = pd.read_parquet(tmp_path / "runs")
    gone = runs["run_id"].iloc[0]
    assert ResultsStore(tmp_path).remove_runs([gone]) == 1
    for folder in ("runs", "epochs", "metrics"):
        left = pd.read_parquet(tmp_path / folder)
        assert gone not in set(left["run_id"]) and set(left["run_id"]) == set(
            runs["run_id"].iloc[1:]
        ), folder


def test_parquet_reads_the_same_in_pandas_polars_duckdb(tmp_path):
    polars = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    run_sweep(plan_sweep(small(models="IWAE", inits="default", depths="1", seeds="0,1"), tmp_path))
    pattern = str(tmp_path / "runs" / "*.parquet")
    pdf = pd.read_parquet(tmp_path / "runs").sort_values("run_id").reset_index(drop=True)
    plf = polars.read_parquet(pattern).sort("run_id").to_pandas()
    ddf = duckdb.sql(f"SELECT * FROM read_parquet('{pattern}') ORDER BY run_id").df()
    assert "__index_level_0__" not in pdf.columns and list(plf.columns) == list(pdf.columns)
    for other in (plf, ddf):
        for column in (
            "run_id",
            "model",
            "seed",
            "depth",
            "val_loss",
            "val_nelbo",
            "ari",
            "status",
        ):
            assert other[column].tolist() == pdf[column].tolist(), column
        assert (
            pd.to_datetime(other["finished_at"], utc=True).tolist() == pdf["finished_at"].tolist()
        )
    schema = pq.read_schema(next((tmp_path / "runs").glob("*.parquet")))
    assert schema.metadata is None or b"pandas" not in schema.metadata  # no pandas index metadata
    pattern = str(tmp_path / "metrics" / "*.parquet")
    order = ["run_id", "epoch"]
    pdm = pd.read_parquet(tmp_path / "metrics").sort_values(order).reset_index(drop=True)
    for other in (
        polars.read_parquet(pattern).sort(order).to_pandas(),
        duckdb.sql(f"SELECT * FROM read_parquet('{pattern}') ORDER BY run_id, epoch").df(),
    ):
        pd.testing.assert_frame_equal(other, pdm, check_dtype=False)


def test_orphaned_epochs_and_metrics_parts_are_removed(tmp_path):
    store = ResultsStore.open(tmp_path)
    store.metrics_dir.mkdir()
    (store.epochs_dir / "part-orphan.parquet").write_bytes(b"half written")
    (store.metrics_dir / "part-orphan.parquet").write_bytes(b"half written")
    (store.runs_dir / ".part-x.parquet.123.tmp").write_bytes(b"temp")
    (store.metrics_dir / ".part-y.parquet.123.tmp").write_bytes(b"temp")
    ResultsStore.open(tmp_path)
    assert not [
        *store.epochs_dir.iterdir(),
        *store.runs_dir.iterdir(),
        *store.metrics_dir.iterdir(),
    ]


def _sigint_default() -> None:
    """In a child before exec: SIGINT back to its default disposition (see
    test_interrupt_saves_finished_runs).
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _train_cmd(out, *extra):
    return [
        sys.executable,
        "-c",
        "from initsens.cli import main; main()",
        "train",
        "--quiet",
        "--out",
        str(out),
        "--models",
        "VanillaVAE,IWAE,LogCoshVAE",
        "--inits",
        "default,xavier_normal",
        "--depths",
        "1",
        "--repeats",
        "3",
        "--top-genes",
        "40",
        "--hidden-dims",
        "16",
        "--latent-dim",
        "3",
        "--epochs",
        "3",
        *extra,
    ]


@pytest.mark.slow
def test_killed_sweep_resumes_without_duplicates_or_losses(tmp_path):
    proc = subprocess.Popen(_train_cmd(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while not list((tmp_path / "runs").glob("part-*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = pd.read_parquet(tmp_path / "runs")
    assert 0 < len(partial) < 18  # killed mid-way: some groups written, not all
    done = subprocess.run(_train_cmd(tmp_path), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"{len(partial)} already recorded" in done.stdout
    runs = pd.read_parquet(tmp_path / "runs")
    assert len(runs) == 18 and runs["run_id"].is_unique
    assert set(partial["run_id"]) <= set(runs["run_id"])
    epochs = pd.read_parquet(tmp_path / "epochs")
    assert not epochs.duplicated(["run_id", "epoch"]).any()
    assert epochs.groupby("run_id").size().sum() == runs["epochs_trained"].sum()


@pytest.mark.slow
def test_interrupt_saves_finished_runs(tmp_path):
    """Ctrl-C after the first group is written: that group is kept, the sweep says it was
    interrupted, and the group in progress (400 epochs without early stopping: far from done) is not
    written half-way.
    """
    long = ("--epochs", "400", "--patience", "400")
    # SIGINT at its default in the child, whatever the runner's disposition: a suite started in the
    # background has SIGINT ignored, and children inherit that (Python then installs no
    # KeyboardInterrupt handler).
    shown = [
        arg for arg in _train_cmd(tmp_path, *long) if arg != "--quiet"
    ]  # the full summary, as a user sees it
    proc = subprocess.Popen(
        shown,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_sigint_default,
        env={**os.environ, "COLUMNS": "300"},
    )
    deadline = time.time() + 300
    while not list((tmp_path / "runs").glob("part-*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr  # the shell's convention: `train && analyze` stops
    stdout = " ".join(stdout.split())  # rich wraps long lines
    assert (
        "interrupted: 6 runs trained" in stdout
        and "run the same command again to continue" in stdout
    )
    assert "6 run(s) of the ensemble in progress were lost" in stdout and "Next:" not in stdout
    runs = pd.read_parquet(tmp_path / "runs")
    assert len(runs) == 6 and runs["run_id"].is_unique and set(runs["model"]) == {"VanillaVAE"}
