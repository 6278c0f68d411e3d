"""The `initsens` command as a user runs it: real subprocesses for exit codes and one-line
errors.
"""

from __future__ import annotations

import os
import signal
import stat
import time

import pandas as pd
import pytest
from conftest import run_cli as run

pytestmark = pytest.mark.slow  # subprocesses or simulations: seconds to minutes


def test_help_version_and_models():
    assert "fetch" in run("data", "--help").stdout
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("initsens ")
    listing = run("models")
    assert listing.returncode == 0
    for name in (
        "VanillaVAE",
        "IWAE",
        "InfoVAE",
        "LogCoshVAE",
        "xavier_uniform",
        "log_zscore",
        "iwae_k=5",
    ):
        assert name in listing.stdout


def test_presets_fit_a_narrow_terminal():
    """At 80 columns the settings are listed one block each (a table's 'why' column was a word wide:
    480 lines).
    """
    import subprocess
    import sys

    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-c", "from initsens.cli import main; main()", "presets"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80 and len(lines) < 250
    assert "gene_selection = meanad  (initsens: mad)" in result.stdout


def test_reproduce_checks_its_protocols_before_showing_anything():
    result = run("reproduce", "--protocols", "foo", "--out", "/nonexistent/x")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().startswith("error: unknown preset 'foo'")


def test_data_info_on_a_file(tmp_path, small_frame):
    path = tmp_path / "expr.tsv"
    small_frame.to_csv(path, sep="\t", index=False)
    result = run("data", "info", "--data", str(path), "--top-genes", "10")
    assert result.returncode == 0, result.stderr
    assert "12 x 30" in result.stdout and "BRCA 4" in result.stdout
    # the top genes by MAD, most variable first, with their MAD (recomputed here with pandas)
    genes = small_frame.drop(columns=["sample_id", "cancer_type"])
    mad = (genes - genes.median()).abs().median().sort_values(ascending=False, kind="stable")
    shown = " ".join(result.stdout.split())
    first = f"{mad.index[0]} ({mad.iloc[0]:.3g}), {mad.index[1]} ({mad.iloc[1]:.3g})"
    assert "most variable first" in shown and first in shown.replace("│ ", "").replace(" │", "")


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ("data", "info", "--data", "nope.tsv"),
            "error: nope.tsv: no such file and no dataset of that name",
        ),
        (
            ("data", "fetch", "tcga"),
            "error: unknown dataset to fetch 'tcga'; choose one of: xena-pancan",
        ),
        (
            ("data", "info", "--label-column", "x"),
            "error: --labels, --label-column, --orientation, --layer and --gene-column apply to "
            "files",
        ),
    ],
)
def test_user_errors_are_one_line_without_traceback(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message)
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_cell_reported_from_cli(tmp_path, small_frame):
    frame = small_frame.astype({"GENE5": object})
    frame.loc[2, "GENE5"] = "oops"
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    result = run("data", "info", "--data", str(path))
    assert result.returncode == 2
    assert "non-numeric value 'oops' in column 'GENE5', sample 'S02'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    pd.read_csv(path)  # the input file is untouched and still readable


@pytest.mark.parametrize(
    "args,message",
    [
        (
            ("train", "--models", "BetaVAE"),
            "error: unknown value 'BetaVAE' in --models; choose from: VanillaVAE, IWAE",
        ),
        (("train", "--repeats", "0"), "error: --repeats must be >= 1 (got 0)"),
        (("train", "--depths", "0"), "error: --depths must be >= 1"),
        (("train", "--normalizations", "rank"), "error: unknown value 'rank' in --normalizations"),
        (
            ("train", "--out", "/proc/initsens-results", "--epochs", "1"),
            "error: /proc/initsens-results: cannot create",
        ),
        (
            ("train", "--data", "missing.tsv"),
            "error: missing.tsv: no such file and no dataset of that name",
        ),
    ],
)
def test_train_argument_errors(args, message):
    result = run(*args)
    assert result.returncode == 2 and result.stderr.strip().startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_train_config_file_and_dry_run(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('models = ["IWAE", "InfoVAE"]\ndepths = [1, 2, 3]\nrepeats = 2\n')
    result = run("train", "--config", str(config), "--inits", "default,normal", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "24 runs on tcga5" in result.stdout  # 2 models x 2 inits x 3 depths x 2 seeds
    config.write_text("epoch = 3\n")
    bad = run("train", "--config", str(config), "--dry-run")
    assert bad.returncode == 2 and "unknown key(s) epoch; valid keys:" in bad.stderr


def test_preset_dry_run_prints_every_setting_and_creates_nothing(tmp_path):
    out = tmp_path / "not-yet"
    result = run("train", "--config", "eltager2023", "--dry-run", "--out", str(out))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for expected in (
        "kaiming_uniform",
        "IWAE: 100",
        "LogCoshVAE: 0.97",
        "leiden",
        "pytorch-vae",
        "per-seed",
        "preset eltager2023",
        "400 runs on tcga5 (309 samples x 8000 genes)",
    ):
        assert expected in text, expected
    assert not out.exists()
    listing = run("presets")
    assert (
        listing.returncode == 0 and "eltager2023" in listing.stdout and "initsens" in listing.stdout
    )


@pytest.mark.parametrize(
    "args,message",
    [
        (("--data", "missing.tsv"), "error: missing.tsv: no such file and no dataset of that name"),
        (
            ("--out", "/proc/initsens-results"),
            "error: /proc/initsens-results: cannot create the results folder",
        ),
        (
            ("--config", "eltager2024"),
            "error: eltager2024: no such config file and no preset of that name",
        ),
    ],
)
def test_dry_run_catches_what_a_real_run_would(args, message):
    result = run("train", "--dry-run", *args)
    assert result.returncode == 2 and result.stderr.strip().startswith(message), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_dry_run_on_a_file_in_place_of_the_results_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run("train", "--dry-run", "--out", str(blocker / "results"))
    assert result.returncode == 2 and "is a file" in result.stderr


def test_results_files_are_readable_by_others(tmp_path):
    """Every result file goes through atomic_path; the temporary file's 0600 must not survive the
    rename.
    """
    from initsens.atomic import atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "runs" / "part-x.parquet") as tmp:
            tmp.write_bytes(b"data")
        os.umask(0o027)
        with atomic_path(tmp_path / "runs" / "part-y.parquet") as tmp:
            tmp.write_bytes(b"data")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "runs" / "part-x.parquet").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "runs" / "part-y.parquet").stat().st_mode) == 0o640


def test_ctrl_c_waits_for_a_chunk_being_recorded():
    """SIGINT inside deferred_interrupt: the block finishes, then KeyboardInterrupt; the handler is
    restored. In another thread (a Dask client's) it is a no-op instead of signal's ValueError.
    """
    import threading

    from initsens.atomic import deferred_interrupt

    runner = signal.signal(
        signal.SIGINT, signal.default_int_handler
    )  # whatever the runner's disposition
    try:
        done = []
        with pytest.raises(KeyboardInterrupt), deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(
                0.05
            )  # a signal is handled between bytecodes: this is where it would have struck
            done.append("written")
        assert done == ["written"] and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with deferred_interrupt():
            pass  # nothing received: nothing raised
        signal.signal(
            signal.SIGINT, signal.SIG_IGN
        )  # a process started with SIGINT ignored keeps ignoring it
        with deferred_interrupt():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            done.append("ignored")
        assert done[-1] == "ignored" and signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, runner)
    errors = []

    def in_thread():
        try:
            with deferred_interrupt():
                done.append("thread")
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert not errors and done[-1] == "thread"
