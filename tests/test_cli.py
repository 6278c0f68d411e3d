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
