"""A results folder survives a second writer, a stale lock, a corrupt part, a full disk and a
failure at every write step of a chunk: what was committed stays there once, nothing half-written is
read, and a re-run completes the grid without duplicates.
"""

from __future__ import annotations

import errno
import json
import socket
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest
from conftest import run_cli

import initsens
from initsens import atomic
from initsens.analysis import load_results
from initsens.errors import InitsensError
from initsens.results import store as store_module
from initsens.results.check import inspect_folder, repair
from initsens.results.lock import LOCK_NAME
from initsens.results.store import ResultsStore

TINY = {
    "models": "VanillaVAE",
    "inits": "default,uniform",
    "depths": "1",
    "repeats": 2,
    "epochs": 1,
    "top_genes": 30,
    "hidden_dims": "8",
    "latent_dim": 2,
    "ensemble_size": 2,
}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A finished tiny sweep (4 runs in 2 chunks) and its rows, to write again under injected
    faults.
    """
    out = tmp_path_factory.mktemp("sweep")
    runs = initsens.train(out=out, **TINY)
    epochs = pd.read_parquet(out / "epochs")
    return out, runs, epochs


def _lock(root, pid, host=None):
    root.mkdir(parents=True, exist_ok=True)
    (root / LOCK_NAME).write_text(
        json.dumps(
            {"pid": pid, "host": host or socket.gethostname(), "since": "2026-12-06T00:00:00+00:00"}
        )
    )


def test_a_second_writer_stops_and_a_stale_lock_is_taken_over(tmp_path):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _lock(tmp_path / "live", sleeper.pid)
        with pytest.raises(
            InitsensError,
            match=rf"being written by pid {sleeper.pid} on {socket.gethostname()} "
            r"since 2026-12-06T00:00:00\+00:00; wait",
        ):
            ResultsStore.open(tmp_path / "live")
    finally:
        sleeper.kill()
        sleeper.wait()
    _lock(
        tmp_path / "far", 1, host="another-node"
    )  # another host: liveness unknown, so never taken over
    with pytest.raises(InitsensError, match="on another-node"):
        ResultsStore.open(tmp_path / "far")
    _lock(tmp_path / "stale", sleeper.pid)  # that process has ended
    store = ResultsStore.open(tmp_path / "stale")
    assert store.notices == [
        f"{store.root}: took over the lock of pid {sleeper.pid} (since "
        "2026-12-06T00:00:00+00:00), which no longer runs"
    ]
    assert json.loads(store.lock.path.read_text())["pid"] == __import__("os").getpid()
    again = ResultsStore.open(tmp_path / "stale")  # this process already holds it
    assert again.notices == []
    store.release()
    assert not store.lock.path.exists() and not list((tmp_path / "stale").glob(f"{LOCK_NAME}*"))


@pytest.mark.slow
def test_a_second_command_on_a_folder_being_written_stops_and_trains_nothing(tmp_path):
    """A writer (here a process holding the folder open, as a training sweep does) makes a second
    `initsens train` stop at once; once the writer is gone, the same command takes the lock over and
    trains every run once.
    """
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from initsens.results.store import "
            "ResultsStore; ResultsStore.open(sys.argv[1]); print('open', flush=True); "
            "time.sleep(120)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        args = [
            "train",
            "--quiet",
            "--out",
            str(tmp_path),
            "--models",
            "VanillaVAE,IWAE",
            "--inits",
            "default,uniform",
            "--depths",
            "1",
            "--repeats",
            "3",
            "--top-genes",
            "30",
            "--hidden-dims",
            "8",
            "--latent-dim",
            "2",
            "--epochs",
            "2",
        ]
        second = run_cli(*args)
        assert second.returncode == 2 and f"being written by pid {holder.pid} on " in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1 and not list(
            (tmp_path / "runs").glob("part-*")
        )
    finally:
        holder.kill()
        holder.wait()
    third = run_cli(*args)  # the holder died without releasing: its lock is taken over
    assert third.returncode == 0, third.stderr
    runs = pd.read_parquet(tmp_path / "runs")
    assert len(runs) == runs["run_id"].nunique() == 12 and not (tmp_path / LOCK_NAME).exists()


def test_a_corrupt_part_stops_train_and_quarantine_retrains_its_runs(tmp_path, sweep):
    source, runs, _ = sweep
    out = tmp_path / "r"
    subprocess.run(["cp", "-r", str(source), str(out)], check=True)
    part = sorted((out / "runs").glob("part-*.parquet"))[0]
    lost = set(pq.read_table(part)["run_id"].to_pylist())
    cut = part.read_bytes()[:300]
    part.write_bytes(cut)  # a copy cut short
    with pytest.raises(
        InitsensError,
        match=r"1 part file\(s\) cannot be read \(runs/part-.*\); run again with "
        "--quarantine",
    ):
        initsens.train(out=out, **TINY)
    assert inspect_folder(out).problems["kind"].tolist() == ["unreadable part"]
    again = initsens.train(out=out, quarantine=True, **TINY)
    assert sorted(again["run_id"]) == sorted(runs["run_id"]) and again["run_id"].is_unique
    aside = next((out / "set-aside").iterdir())  # out of the table folders, with a note of why
    assert (aside / "runs" / part.name).read_bytes() == cut and (
        aside / "epochs" / part.name
    ).exists()
    why = {note["from"]: note["reason"] for note in json.loads((aside / "why.json").read_text())}
    assert why[f"runs/{part.name}"].startswith("unreadable") and f"epochs/{part.name}" in why
    assert sorted(pd.read_parquet(out / "runs")["run_id"]) == sorted(
        runs["run_id"]
    )  # readers see the live runs
    loaded = load_results(out)  # analyze reads neither
    assert len(loaded.runs) == 4 and set(loaded.runs["run_id"]) >= lost
    assert loaded.epochs.groupby("run_id")["epoch"].apply(lambda e: e.is_unique).all()


def test_a_full_disk_loses_nothing_and_the_same_command_resumes(tmp_path, monkeypatch):
    write = pq.write_table
    calls = {"n": 0}

    def full_after_first_chunk(table, where, **kwargs):
        calls["n"] += 1
        if calls["n"] > 2:  # the first chunk's epochs and runs parts fit; then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(where))
        return write(table, where, **kwargs)

    monkeypatch.setattr(store_module.pq, "write_table", full_after_first_chunk)
    with pytest.raises(
        InitsensError,
        match=r"could not write the results of 2 runs \(No space left on device\); 2 "
        r"runs saved before it are intact; .* run the same command again",
    ):
        initsens.train(out=tmp_path, **TINY)
    assert len(pd.read_parquet(tmp_path / "runs")) == 2
    assert (
        len(list((tmp_path / "epochs").glob("part-*"))) == 1
    )  # no epochs part without its runs part
    assert not list(tmp_path.rglob(".*.tmp")) and not (tmp_path / LOCK_NAME).exists()
    monkeypatch.setattr(store_module.pq, "write_table", write)
    runs = initsens.train(out=tmp_path, **TINY)
    assert len(runs) == 4 and runs["run_id"].is_unique


@pytest.mark.slow
def test_a_real_full_filesystem_loses_nothing_and_the_same_command_resumes(tmp_path):
    """The same on a 64 KiB tmpfs (where the test may mount one: root on Linux; elsewhere the
    patched write above stands in): the chunk that no longer fits is reported, nothing half-written
    stays, and once there is room the same command trains only what is missing.
    """
    disk = tmp_path / "disk"
    disk.mkdir()
    if (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)],
            capture_output=True,
            timeout=30,
        ).returncode
        != 0
    ):
        pytest.skip("cannot mount a tmpfs here (needs root on Linux)")
    try:
        out = disk / "results"
        grid = (
            "train",
            "--quiet",
            "--out",
            str(out),
            "--models",
            "VanillaVAE,IWAE",
            "--inits",
            "default,normal,uniform",
            "--depths",
            "1,2",
            "--repeats",
            "3",
            "--epochs",
            "2",
            "--top-genes",
            "200",
            "--hidden-dims",
            "16",
            "--latent-dim",
            "2",
        )
        full = run_cli(*grid)
        assert full.returncode == 2 and full.stderr.count("\n") == 1, full.stderr
        assert (
            "No space left on device" in full.stderr
            and "runs saved before it are intact" in full.stderr
        )
        saved = pd.read_parquet(out / "runs")
        assert 0 < len(saved) < 36 and saved["run_id"].is_unique
        assert not list(out.rglob(".*.tmp")) and not (out / LOCK_NAME).exists()
        assert len(list((out / "epochs").glob("part-*"))) == len(
            list((out / "runs").glob("part-*"))
        )
        subprocess.run(["mount", "-o", "remount,size=8m", str(disk)], check=True, timeout=30)
        done = run_cli(*grid)
        assert done.returncode == 0, done.stderr
        runs = pd.read_parquet(out / "runs")
        assert (
            len(runs) == 36
            and runs["run_id"].is_unique
            and set(saved["run_id"]) <= set(runs["run_id"])
        )
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True, timeout=30)


@pytest.mark.parametrize(
    "fail_at", range(1, 9)
)  # one chunk = epochs part + runs part, 4 steps each
def test_a_failure_at_any_write_step_of_a_chunk_commits_all_or_nothing(
    tmp_path, monkeypatch, sweep, fail_at
):
    _, runs, epochs = sweep
    first, second = sorted(runs["run_id"])[:2], sorted(runs["run_id"])[2:]
    rows = {row["run_id"]: row for row in pq.read_table(sweep[0] / "runs").to_pylist()}
    ep = {rid: g.to_dict("records") for rid, g in epochs.groupby("run_id")}
    store = ResultsStore.open(tmp_path)
    store.append([rows[r] for r in first], [e for r in first for e in ep[r]])
    calls = {"n": 0}
    originals = {"write": pq.write_table, "fsync": atomic.fsync_path, "replace": atomic.os.replace}

    def failing(step):
        def call(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == fail_at:
                raise OSError(errno.EIO, f"injected failure at {step}")
            return originals[step](*args, **kwargs)

        return call

    monkeypatch.setattr(store_module.pq, "write_table", failing("write"))
    monkeypatch.setattr(atomic, "fsync_path", failing("fsync"))
    monkeypatch.setattr(atomic.os, "replace", failing("replace"))
    with pytest.raises(InitsensError, match="could not write the results of 2 runs"):
        store.append([rows[r] for r in second], [e for r in second for e in ep[r]])
    monkeypatch.undo()
    reopened = ResultsStore.open(tmp_path)
    committed = reopened.finished_run_ids()
    # all or nothing: a failure before the runs part's rename leaves the chunk out; after it, the
    # chunk is in
    assert committed in (set(first), set(first) | set(second))
    assert not list(tmp_path.rglob(".*.tmp")) and inspect_folder(tmp_path).problems[
        "kind"
    ].tolist() in ([], ["lock"])
    todo = [r for r in second if r not in committed]
    reopened.append([rows[r] for r in todo], [e for r in todo for e in ep[r]])
    final = load_results(tmp_path)
    assert sorted(final.runs["run_id"]) == sorted(runs["run_id"])
    assert not final.epochs.duplicated(["run_id", "epoch"]).any()
    reopened.release()


def test_check_reports_and_repair_fixes_duplicates_orphans_and_corrupt_parts(tmp_path, sweep):
    out = tmp_path / "r"
    subprocess.run(["cp", "-r", str(sweep[0]), str(out)], check=True)
    parts = sorted((out / "runs").glob("part-*.parquet"))
    clean = run_cli("check", str(out))
    assert clean.returncode == 0 and "no problems found" in clean.stdout
    (out / "runs" / "part-zzcopy.parquet").write_bytes(parts[0].read_bytes())  # a part copied twice
    (out / "epochs" / "part-zzcopy.parquet").write_bytes(
        (out / "epochs" / parts[0].name).read_bytes()
    )
    (out / "epochs" / "part-orphan.parquet").write_bytes(
        (out / "epochs" / parts[1].name).read_bytes()
    )
    parts[1].write_bytes(b"PAR1 cut")
    found = inspect_folder(out).problems
    assert sorted(found["kind"]) == [
        "duplicated rows",
        "duplicated rows",
        "orphaned part",
        "unreadable part",
    ]
    shown = run_cli("check", str(out))
    assert shown.returncode == 1 and "4 problem(s)" in shown.stdout
    done = repair(out)
    assert [line.split(" (")[0] for line in done] == [
        f"set aside runs/{parts[1].name}, epochs/{parts[1].name}",
        "set aside epochs/part-orphan.parquet",
        "dropped 2 duplicated row(s) in runs/",
        "dropped 2 duplicated row(s) in epochs/",
    ]
    aside = next((out / "set-aside").iterdir())
    assert (aside / "runs" / "part-zzcopy.parquet").read_bytes() == parts[
        0
    ].read_bytes()  # as it was: nothing lost
    left = inspect_folder(
        out
    ).problems  # the grid recorded in sweeps.json now lacks the corrupt part's runs
    assert left["kind"].tolist() == ["runs not trained"] and left["detail"].iloc[0].startswith(
        "2 of 4 runs"
    )
    kept = load_results(out).runs
    assert kept["run_id"].is_unique and len(kept) == 2
    initsens.train(out=out, **TINY)  # the same command trains them
    assert inspect_folder(out).problems.empty


def test_a_lost_epochs_part_has_one_way_out_check_repair_train(tmp_path, sweep):
    """One epochs part deleted: analyze names the runs without learning curves, check reports them,
    --repair moves their runs part aside (it used to say 'nothing to repair' while train skipped
    them as recorded), and the same train command retrains exactly those runs, after which nothing
    is missing.
    """
    out = tmp_path / "r"
    subprocess.run(["cp", "-r", str(sweep[0]), str(out)], check=True)
    lost = sorted((out / "epochs").glob("part-*.parquet"))[0]
    lost_ids = set(pd.read_parquet(out / "runs" / lost.name)["run_id"])
    lost.unlink()
    loaded = load_results(out)
    assert any(
        w.startswith(f"{len(lost_ids)} run(s) have no per-epoch log") for w in loaded.warnings
    )
    analyzed = run_cli(
        "analyze",
        str(out),
        "--report",
        str(tmp_path / "rep" / "s.md"),
        "--n-boot",
        "20",
        "--n-boot-icc",
        "5",
    )
    assert analyzed.returncode == 0 and "have no per-epoch log" in " ".join(analyzed.stdout.split())
    assert inspect_folder(out).problems["kind"].tolist() == ["runs without epochs"]
    repaired = run_cli("check", str(out), "--repair")
    said = " ".join(repaired.stdout.split())
    assert (
        repaired.returncode == 1 and "its epochs part is missing" in said
    )  # 1: runs still to train, it says so
    assert said.endswith(
        "the same `initsens train` command (with --out " + str(out) + ") trains the missing runs"
    )
    assert inspect_folder(out).problems["kind"].tolist() == ["runs not trained"]
    before = set(load_results(out).runs["run_id"])
    initsens.train(out=out, **TINY)
    after = load_results(out)
    assert set(after.runs["run_id"]) - before == lost_ids and after.runs["run_id"].is_unique
    assert inspect_folder(out).problems.empty and not after.warnings


_KILLER = """
import os, pickle, signal, sys
from initsens import atomic
from initsens.results import store as sm
at, calls = int(sys.argv[2]), [0]
def hooked(original):
    def call(*args, **kwargs):
        calls[0] += 1
        if calls[0] == at:
            os.kill(os.getpid(), signal.SIGKILL)
        return original(*args, **kwargs)
    return call
sm.pq.write_table, atomic.fsync_path, atomic.os.replace = (
    hooked(sm.pq.write_table), hooked(atomic.fsync_path), hooked(atomic.os.replace)
)
runs, epochs = pickle.loads(open(sys.argv[3], "rb").read())
sm.ResultsStore.open(sys.argv[1]).append(runs, epochs)
"""


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", range(1, 9))
def test_a_process_killed_at_any_write_step_leaves_the_chunk_whole_or_absent(
    tmp_path, sweep, kill_at
):
    """SIGKILL (no cleanup runs: no except, no atexit) at each write step of a chunk: the chunk is
    committed whole or not at all, nothing half-written is read, the dead writer's lock is taken
    over and a re-run completes the grid without duplicates.
    """
    import pickle

    _, runs, epochs = sweep
    table = {row["run_id"]: row for row in pq.read_table(sweep[0] / "runs").to_pylist()}
    ep = {rid: g.to_dict("records") for rid, g in epochs.groupby("run_id")}
    first, second = sorted(table)[:2], sorted(table)[2:]
    store = ResultsStore.open(tmp_path / "r")
    store.append([table[r] for r in first], [e for r in first for e in ep[r]])
    store.release()
    chunk = tmp_path / "chunk.pkl"
    chunk.write_bytes(
        pickle.dumps(([table[r] for r in second], [e for r in second for e in ep[r]]))
    )
    killed = subprocess.run(
        [sys.executable, "-c", _KILLER, str(tmp_path / "r"), str(kill_at), str(chunk)]
    )
    assert killed.returncode == -9
    reopened = ResultsStore.open(
        tmp_path / "r"
    )  # takes the dead writer's lock over, drops its leftovers
    assert reopened.notices and "which no longer runs" in reopened.notices[0]
    committed = reopened.finished_run_ids()
    assert committed in (set(first), set(first) | set(second))
    assert not list((tmp_path / "r").rglob(".*.tmp"))
    todo = [r for r in second if r not in committed]
    reopened.append([table[r] for r in todo], [e for r in todo for e in ep[r]])
    reopened.release()
    final = load_results(tmp_path / "r")
    assert sorted(final.runs["run_id"]) == sorted(runs["run_id"])
    assert not final.epochs.duplicated(["run_id", "epoch"]).any()
