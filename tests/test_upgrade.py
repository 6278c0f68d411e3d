"""Folders written by an earlier initsens keep working: they resume without training their runs
again and read alongside new parts.

``fixtures/schema3/{keep,flush}`` were written by initsens at commit 882443b (schema 3, when
``--denormals flush`` entered the run id and ``keep`` was the default; see
``fixtures/schema3/README.md``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from initsens.analysis import load_results
from initsens.training import ResultsStore, SweepConfig, plan_sweep, run_sweep

FIXTURES = Path(__file__).parent / "fixtures" / "schema3"
GRID = {
    "data": "synthetic",
    "models": "VanillaVAE,IWAE",
    "inits": "default,normal",
    "depths": "1",
    "repeats": 1,
    "epochs": 2,
    "top_genes": 40,
    "hidden_dims": "16",
    "latent_dim": 4,
}


def recorded_ids(folder: Path) -> set[str]:
    return set(json.loads((folder / "sweeps.json").read_text())["sweeps"][0]["run_ids"])


@pytest.fixture
def old(tmp_path) -> Path:
    shutil.copytree(FIXTURES, tmp_path / "old")
    return tmp_path / "old"


@pytest.mark.parametrize("written_with", ["keep", "flush"])
@pytest.mark.parametrize("now", [None, "keep", "flush"])
def test_a_schema_3_folder_resumes_without_retraining_whatever_its_arithmetic(
    old, written_with, now
):
    """Runs kept their subnormals (then the default, outside the id) or flushed them (then inside
    the id): under the new default (flush, outside the id) and under either explicit value, every
    run is found, under the id it was recorded with.
    """
    config = SweepConfig.from_mapping({**GRID, **({"denormals": now} if now else {})})
    plan = plan_sweep(config, old / written_with)
    assert plan.todo == [] and set(plan.run_ids.values()) == recorded_ids(old / written_with)
    plan.store.release()


def test_kept_runs_keep_their_ids_and_flushed_ones_answer_to_their_former_id(old):
    specs = SweepConfig.from_mapping(GRID).runs()
    sha = pd.read_parquet(old / "keep" / "runs")["dataset_sha256"].iloc[0]
    assert {spec.run_ids(sha)[0] for spec in specs} == recorded_ids(old / "keep")
    assert {spec.run_ids(sha)[1] for spec in specs} == recorded_ids(old / "flush")


def test_a_writer_upgrades_old_parts_so_every_reader_sees_one_layout(old):
    """One more seed trained into the schema-3 folder: opening it to write rewrites its old runs
    parts with the column added since (``denormals``: ``keep``, what schema 3 did without the flag)
    and nothing else changed, so pandas, polars, duckdb and ``initsens analyze`` read the folder as
    one table; a read-only open changes nothing.
    """
    import duckdb
    import polars

    folder = old / "keep"
    before = pd.read_parquet(folder / "runs").sort_values("run_id").reset_index(drop=True)
    load_results(folder, "val_loss")  # reading alone rewrites nothing
    assert pd.read_parquet(folder / "runs").columns.tolist() == before.columns.tolist()
    summary = run_sweep(plan_sweep(SweepConfig.from_mapping({**GRID, "repeats": 2}), folder))
    assert summary.trained == 4  # seed 1 only: seed 0's 4 runs resumed
    runs = pd.read_parquet(folder / "runs").sort_values("run_id").reset_index(drop=True)
    old_rows = runs[runs["run_id"].isin(before["run_id"])].reset_index(drop=True)
    assert len(runs) == 8 and (runs["schema_version"] == 4).all()
    assert (
        old_rows["denormals"].tolist() == ["keep"] * 4 and (runs["denormals"] == "flush").sum() == 4
    )
    pd.testing.assert_frame_equal(
        old_rows[before.columns.drop("schema_version")], before.drop(columns="schema_version")
    )
    assert polars.read_parquet(str(folder / "runs" / "*.parquet"))["denormals"].null_count() == 0
    assert duckdb.sql(f"SELECT count(denormals) FROM '{folder}/runs/*.parquet'").fetchall() == [
        (8,)
    ]
    assert load_results(folder, "val_loss").runs["denormals"].notna().all()


def test_a_flushed_schema_3_run_is_upgraded_as_flushed(old):
    run_sweep(plan_sweep(SweepConfig.from_mapping(GRID), old / "flush"))
    assert (
        ResultsStore(old / "flush").read_runs(["denormals"])["denormals"].to_pylist()
        == ["flush"] * 4
    )
