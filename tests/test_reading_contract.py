"""The reading contract: after every kind of repair, pandas, pyarrow, polars and duckdb read exactly
the live runs of a results folder (each run id once, each (run, epoch) once), and `initsens check`
sees what they see: a file in a table folder that is not a live part is a problem, and so is a run
id read twice.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections import Counter

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from conftest import run_cli

import initsens
from initsens.analysis import load_results
from initsens.errors import InitsensError
from initsens.results import ResultsStore, inspect_folder, reader_files, repair, stray_files
from initsens.results.lock import LOCK_NAME

#: InfoVAE reports a metric of its own, so the folder has all three tables.
GRID = {
    "models": "VanillaVAE,InfoVAE",
    "inits": "default,uniform",
    "depths": "1",
    "repeats": 2,
    "epochs": 1,
    "top_genes": 30,
    "hidden_dims": "8",
    "latent_dim": 2,
    "ensemble_size": 2,
}
KEYS = {"runs": ["run_id"], "epochs": ["run_id", "epoch"], "metrics": ["run_id", "epoch", "metric"]}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A finished grid of 8 runs in 4 chunks, each with runs, epochs and metrics parts; and its
    rows' keys.
    """
    out = tmp_path_factory.mktemp("sweep")
    initsens.train(out=out, **GRID)
    return out, {table: _keys(pd.read_parquet(out / table), table) for table in KEYS}


def _keys(frame: pd.DataFrame, table: str) -> Counter:
    return Counter(map(tuple, frame[KEYS[table]].astype(str).itertuples(index=False)))


def _copy(sweep, tmp_path):
    out = tmp_path / "r"
    shutil.copytree(sweep[0], out)
    return out


def read_by_every_reader(out, table):
    """The table's row keys as each reader reads it, with the path or glob the documentation gives
    for that reader (docs/guide/results.md).
    """
    folder, glob = out / table, str(out / table / "*.parquet")
    return {
        "pandas": _keys(pd.read_parquet(folder), table),
        "pyarrow": _keys(ds.dataset(folder, format="parquet").to_table().to_pandas(), table),
        "polars": _keys(pl.read_parquet(glob).to_pandas(), table),
        "duckdb": _keys(duckdb.sql(f"SELECT * FROM read_parquet('{glob}')").df(), table),
    }


def assert_readers_see(out, expected):
    """Every reader reads each table's rows exactly once, and exactly the expected ones."""
    for table, keys in expected.items():
        for reader, found in read_by_every_reader(out, table).items():
            assert found == keys, (
                f"{reader} reads {table}/ wrong: {sum(found.values())} rows, "
                f"{sum(keys.values())} expected"
            )


def test_reader_files_are_what_pyarrow_discovers_and_a_parquet_glob_matches(tmp_path, sweep):
    """An independent check of the rule: pyarrow's own discovery plus duckdb's own glob."""
    folder = _copy(sweep, tmp_path) / "runs"
    part = sorted(folder.glob("part-*.parquet"))[0]
    (folder / "old").mkdir()
    for name in (
        "x.parquet.corrupt",
        "old/part-1.parquet",
        ".hidden.parquet",
        "_under.parquet",
        "notes.parquet",
    ):
        shutil.copy(part, folder / name)
    (folder / ".part-9.parquet.abcd.tmp").write_bytes(
        b"half"
    )  # what an interrupted atomic write leaves
    discovered = set(ds.dataset(folder, format="parquet").files)
    globbed = {
        row[0] for row in duckdb.sql(f"SELECT file FROM glob('{folder}/*.parquet')").fetchall()
    }
    assert {str(p) for p in reader_files(folder)} == discovered | globbed
    assert {p.name for p in stray_files(folder)} == {
        "x.parquet.corrupt",
        "part-1.parquet",
        ".hidden.parquet",
        "_under.parquet",
        "notes.parquet",
    }


def test_a_lost_epochs_part_check_repair_train_every_reader_reads_the_grid_once(tmp_path, sweep):
    """The issue's case: one epochs part deleted, then check --repair, then the same train
    command.
    """
    out = _copy(sweep, tmp_path)
    lost = sorted((out / "metrics").glob("part-*.parquet"))[
        0
    ]  # an InfoVAE chunk: it has all three tables
    (out / "epochs" / lost.name).unlink()
    repaired = run_cli("check", str(out), "--repair")
    said = " ".join(repaired.stdout.split())
    assert (
        "(its epochs part is missing; the same `initsens train` command retrains its runs)" in said
    )
    assert "corrupt" not in said
    assert not list((out / "runs").glob(f"{lost.name}*")) and not list(
        (out / "metrics").glob(f"{lost.name}*")
    )
    initsens.train(out=out, **GRID)
    assert_readers_see(out, sweep[1])
    assert inspect_folder(out).problems.empty
    aside = next((out / "set-aside").iterdir())
    assert sorted(p.relative_to(aside).as_posix() for p in aside.rglob("part-*")) == [
        f"metrics/{lost.name}",
        f"runs/{lost.name}",
    ]


def test_a_corrupt_part_quarantined_or_repaired_every_reader_reads_the_grid_once(tmp_path, sweep):
    for way in ("quarantine", "repair"):
        out = _copy(sweep, tmp_path / way)
        part = sorted((out / "runs").glob("part-*.parquet"))[1]
        part.write_bytes(part.read_bytes()[:200])
        with pytest.raises(Exception):  # noqa: B017 - a reader fails on it: that is why it must leave
            pd.read_parquet(out / "runs")
        if way == "repair":
            assert "set aside runs/" in " ".join(repair(out))
        initsens.train(out=out, quarantine=way == "quarantine", **GRID)
        assert_readers_see(out, sweep[1])
        assert inspect_folder(out).problems.empty


def test_an_interrupted_write_leaves_nothing_a_reader_reads_once_repaired_or_reopened(
    tmp_path, sweep
):
    """A write cut short before its commit point leaves detail parts without their runs part and a
    temporary file: check flags them; repair sets them aside; a writer's open removes them.
    """
    for way in ("repair", "open"):
        out = _copy(sweep, tmp_path / way)
        source = sorted((out / "metrics").glob("part-*.parquet"))[0]
        for table in ("epochs", "metrics"):
            shutil.copy(
                out / table / source.name, out / table / "part-29991231T000000-cutshort.parquet"
            )
        (out / "runs" / ".part-29991231T000000-cutshort.parquet.x1.tmp").write_bytes(b"PAR1")
        kinds = sorted(inspect_folder(out).problems["kind"])
        assert kinds == [
            "duplicated rows",
            "duplicated rows",
            "orphaned part",
            "orphaned part",
            "temporary file",
        ]
        if way == "repair":
            repair(out)
        else:
            ResultsStore.open(out).release()
        assert_readers_see(out, sweep[1])
        assert inspect_folder(out).problems.empty


def test_a_second_writer_changes_nothing_any_reader_reads(tmp_path, sweep):
    out = _copy(sweep, tmp_path)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / LOCK_NAME).write_text(
            json.dumps({"pid": holder.pid, "host": socket.gethostname(), "since": "now"})
        )
        with pytest.raises(InitsensError, match="being written by pid"):
            initsens.train(out=out, **GRID)
        with pytest.raises(InitsensError, match="being written by pid"):
            repair(out)
        assert inspect_folder(out).problems["kind"].tolist() == ["lock"]
        assert_readers_see(out, sweep[1])
    finally:
        holder.kill()
        holder.wait()


def test_a_folder_with_corrupt_files_from_the_former_version_is_recognized_and_moved_out_whole(
    tmp_path, sweep
):
    """initsens 0.1 renamed a runs part whose epochs part was lost to *.corrupt inside runs/ and
    metrics/ and retrained its runs: readers then read those runs twice (the issue's 135 rows for
    120 run ids).
    """
    out = _copy(sweep, tmp_path)
    lost = sorted((out / "metrics").glob("part-*.parquet"))[0]
    (out / "epochs" / lost.name).unlink()
    for table in (
        "runs",
        "metrics",
    ):  # where 0.1 put them (now train itself would move them out first)
        (out / table / lost.name).rename(tmp_path / f"{table}.corrupt")
    initsens.train(out=out, **GRID)
    for table in ("runs", "metrics"):
        (tmp_path / f"{table}.corrupt").rename(out / table / f"{lost.name}.corrupt")
    doubled = read_by_every_reader(out, "runs")
    assert sum(doubled["pandas"].values()) == 10 and len(doubled["pandas"]) == 8  # what readers saw
    found = inspect_folder(out).problems
    assert sorted(found["kind"]) == [
        "duplicated rows",
        "duplicated rows",
        "stray file",
        "stray file",
    ]
    assert found.loc[found["kind"] == "stray file", "detail"].str.contains("earlier initsens").all()
    before = {p.name: p.read_bytes() for p in out.rglob("*.corrupt")}
    shown = run_cli("check", str(out))
    assert shown.returncode == 1 and "stray file" in shown.stdout
    run_cli("check", str(out), "--repair")
    assert_readers_see(out, sweep[1])
    assert inspect_folder(out).problems.empty
    kept = {p.name + ".corrupt": p.read_bytes() for p in (out / "set-aside").rglob(lost.name)}
    assert kept == before  # moved out whole, under its Parquet name again


def test_train_moves_the_former_versions_corrupt_files_out_before_it_trains(tmp_path, sweep):
    out = _copy(sweep, tmp_path)
    part = sorted((out / "runs").glob("part-*.parquet"))[0]
    shutil.copy(part, out / "runs" / f"{part.name}.corrupt")
    args = [a for key, value in GRID.items() for a in (f"--{key.replace('_', '-')}", str(value))]
    trained = run_cli("train", "--out", str(out), *args)
    assert trained.returncode == 0 and "moved 1 *.corrupt file(s)" in " ".join(
        trained.stdout.split()
    )
    assert_readers_see(out, sweep[1])


def test_check_flags_any_stray_file_and_repair_moves_it_out(tmp_path, sweep):
    out = _copy(sweep, tmp_path)
    (out / "runs" / "notes.txt").write_text("my notes\n")
    (out / "epochs" / "backup").mkdir()
    shutil.copy(
        sorted((out / "epochs").glob("part-*.parquet"))[0],
        out / "epochs" / "backup" / "part-0.parquet",
    )
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's discovery reads notes.txt as Parquet and fails
        pd.read_parquet(out / "runs")
    found = inspect_folder(out).problems
    assert found["kind"].tolist() == ["stray file", "stray file", "duplicated rows"]
    assert "pandas, pyarrow and R's arrow fail on it" in found["detail"].iloc[0]
    repair(out)
    assert_readers_see(out, sweep[1])
    assert inspect_folder(out).problems.empty and not (out / "epochs" / "backup").exists()
    assert (next((out / "set-aside").iterdir()) / "runs" / "notes.txt").read_text() == "my notes\n"


def test_analyze_reads_no_set_aside_file(tmp_path, sweep):
    out = _copy(sweep, tmp_path)
    (out / "runs" / "x.parquet.corrupt").write_bytes(
        sorted((out / "runs").glob("part-*"))[0].read_bytes()
    )
    repair(out)
    assert len(list((out / "set-aside").rglob("*.parquet"))) == 1
    assert load_results(out).runs["run_id"].is_unique
    assert len(pq.read_table(out / "runs")) == 8


def test_reading_and_checking_a_results_folder_imports_no_torch(sweep):
    out = str(sweep[0])
    code = (
        "import sys; from initsens.results import ResultsStore, inspect_folder; "
        f"n = ResultsStore({out!r}).read_runs().num_rows; p = inspect_folder({out!r}).problems; "
        "print(n, len(p), 'torch' in sys.modules)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.split() == ["8", "0", "False"]
