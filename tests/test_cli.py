"""The `initsens` command as a user runs it: real subprocesses for exit codes and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-c", "from initsens.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_help_version_and_models():
    assert "fetch" in run("data", "--help").stdout
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("initsens ")
    listing = run("models")
    assert listing.returncode == 0
    for name in ("VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE", "xavier_uniform", "log_zscore", "iwae_k=5"):
        assert name in listing.stdout


def test_data_info_on_a_file(tmp_path, small_frame):
    path = tmp_path / "expr.tsv"
    small_frame.to_csv(path, sep="\t", index=False)
    result = run("data", "info", "--data", str(path), "--top-genes", "10")
    assert result.returncode == 0, result.stderr
    assert "12 x 30" in result.stdout and "BRCA 4" in result.stdout


@pytest.mark.parametrize("args,message", [
    (("data", "info", "--data", "nope.tsv"), "error: nope.tsv: no such file and no dataset of that name"),
    (("data", "fetch", "tcga"), "error: unknown dataset to fetch 'tcga'; choose one of: xena-pancan"),
    (("data", "info", "--label-column", "x"), "error: --labels, --label-column and --orientation apply to files"),
])
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


@pytest.mark.parametrize("args,message", [
    (("train", "--models", "BetaVAE"), "error: unknown value 'BetaVAE' in --models; choose from: VanillaVAE, IWAE"),
    (("train", "--repeats", "0"), "error: --repeats must be >= 1 (got 0)"),
    (("train", "--depths", "0"), "error: --depths must be >= 1"),
    (("train", "--normalizations", "rank"), "error: unknown value 'rank' in --normalizations"),
    (("train", "--out", "/proc/initsens-results", "--epochs", "1"), "error: /proc/initsens-results: cannot create"),
    (("train", "--data", "missing.tsv"), "error: missing.tsv: no such file and no dataset of that name"),
])
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
