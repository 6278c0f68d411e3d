"""`initsens analyze` end to end (a real small sweep -> report, figures, tables) and its bad-input
errors.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from initsens.analysis.inputs import load_results
from initsens.cli import main
from initsens.errors import InitsensError

pytestmark = pytest.mark.slow  # subprocesses or simulations: seconds to minutes

FIXTURES = Path(__file__).parent / "fixtures" / "anova"
FAST = ("--n-boot", "200", "--n-boot-icc", "50")


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-c", "from initsens.cli import main; main()", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=600,
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("results")
    result = run(
        "train",
        "--models",
        "VanillaVAE,IWAE",
        "--inits",
        "default,uniform,xavier_normal",
        "--depths",
        "1",
        "--repeats",
        "3",
        "--epochs",
        "2",
        "--top-genes",
        "60",
        "--hidden-dims",
        "16",
        "--latent-dim",
        "4",
        "--out",
        str(out),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    return out


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_train_then_analyze(trained, tmp_path):
    before = digest(trained)
    report = tmp_path / "rep" / "summary.md"
    result = run("analyze", str(trained), "--report", str(report), *FAST)
    assert result.returncode == 0, result.stderr
    assert digest(trained) == before  # inputs never modified
    text = report.read_text()
    for heading in (
        "## Summary",
        "## Data & design",
        "## Per-model results",
        "## Sensitivity ranking",
        "## Factorial ANOVA",
        "## Mixed model",
        "## Post-hoc comparisons",
        "## Methods",
        "## Reproducibility",
    ):
        assert heading in text, heading
    first_part = next((trained / "runs").glob("*.parquet"))
    assert (
        "Input files (sha256)" in text
        and hashlib.sha256(first_part.read_bytes()).hexdigest() in text
    )
    for png in ("metric_by_initializer", "sensitivity", "learning_curves"):
        path = report.parent / "figures" / f"{png}.png"
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"figures/{png}.png" in text
    tables = {p.stem: p for p in (report.parent / "tables").glob("*.parquet")}
    for name in (
        "oneway_anova",
        "factorial_anova",
        "variance_components",
        "posthoc",
        "mixed_model",
        "failures",
        "sensitivity",
        "descriptives",
        "improvement",
    ):
        assert name in tables, name
    for name, path in tables.items():
        schema = pq.read_schema(path)
        undocumented = [f.name for f in schema if not (f.metadata or {}).get(b"description")]
        assert not undocumented, (name, undocumented)
    oneway = pd.read_parquet(tables["oneway_anova"])
    assert {
        "model",
        "depth",
        "metric",
        "n",
        "k",
        "ss_between",
        "ss_within",
        "df_between",
        "df_within",
        "f",
        "p_value",
        "eta_sq",
        "omega_sq",
        "omega_sq_ci_low",
        "omega_sq_ci_high",
    } <= set(oneway.columns)
    failures = pd.read_parquet(tables["failures"])
    runs = pd.read_parquet(trained / "runs")
    expected = (
        runs.assign(bad=runs["status"] != "ok")
        .groupby(["model", "depth", "initializer"])["bad"]
        .sum()
    )
    got = failures.set_index(["model", "depth", "initializer"])["n_failed"]
    assert (got.loc[expected.index] == expected).all()
    factorial = pd.read_parquet(tables["factorial_anova"])
    assert {"val_loss", "val_loss (z within model)"} == set(factorial["metric"])


def test_a_models_own_metric_is_read_at_the_selected_epoch(trained):
    """--metric val_ess: IWAE's own metric from the long metrics table, at each run's selected
    epoch; the VanillaVAE runs (no such metric) are left out with a warning; epochs and metrics stay
    apart.
    """
    loaded = load_results(trained, "val_ess")
    assert set(loaded.runs["model"]) == {"IWAE"} and len(loaded.runs) == 9
    assert any(
        "val_ess is a metric of IWAE only" in w and "VanillaVAE" in w for w in loaded.warnings
    )
    metrics = pd.read_parquet(trained / "metrics")
    for run in loaded.runs.itertuples():
        rows = metrics[(metrics.run_id == run.run_id) & (metrics.epoch == run.selected_epoch)]
        expected = rows["value"].item() if len(rows) else np.nan
        assert run.val_ess == pytest.approx(expected, nan_ok=True), run.run_id
    assert np.isfinite(loaded.runs.loc[loaded.runs.status == "ok", "val_ess"]).all()
    assert (
        "metric" not in loaded.epochs.columns
        and len(loaded.epochs) == pd.read_parquet(trained / "epochs").shape[0]
    )


def test_analyze_a_csv_written_elsewhere(tmp_path):
    """A plain table from R or pandas with only the required columns works."""
    report = tmp_path / "r" / "report.md"
    result = run(
        "analyze", str(FIXTURES / "balanced.csv"), "--report", str(report), *FAST, "--quiet"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(report)
    assert "IWAE" in report.read_text()


def write(tmp_path: Path, frame: pd.DataFrame, name: str = "runs.parquet") -> Path:
    path = tmp_path / name
    frame.to_parquet(path) if name.endswith(".parquet") else frame.to_csv(path, index=False)
    return path


def test_bad_inputs_one_line_errors(tmp_path, monkeypatch, capsys):
    good = pd.read_csv(FIXTURES / "balanced.csv")
    cases = []
    empty = tmp_path / "empty"
    empty.mkdir()
    cases.append((empty, "no Parquet files under"))
    (tmp_path / "corrupt").mkdir()
    (tmp_path / "corrupt" / "part-0.parquet").write_bytes(b"PAR1 this is not parquet")
    cases.append((tmp_path / "corrupt", "cannot read"))
    cases.append(
        (
            write(tmp_path, good.drop(columns="initializer"), "noinit.parquet"),
            "has no column(s) 'initializer' (columns found: model, depth, seed, val_loss)",
        )
    )
    cases.append(
        (write(tmp_path, good.assign(val_loss="x"), "text.csv"), "metric column 'val_loss'")
    )
    cases.append((write(tmp_path, good.assign(depth="deep"), "depth.csv"), "column 'depth' in"))
    cases.append((tmp_path / "missing", "does not exist"))
    for path, message in cases[1:]:  # in-process through the console script's entry point (fast)
        monkeypatch.setattr(
            sys, "argv", ["initsens", "analyze", str(path), "--report", str(tmp_path / "r.md")]
        )
        with pytest.raises(SystemExit) as exit_info:
            main()
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and "Traceback" not in err, (path, err)
        assert len(err.strip().splitlines()) == 1, err
    result = run(
        "analyze", str(cases[0][0]), "--report", str(tmp_path / "r.md")
    )  # and once as a real process
    assert (
        result.returncode == 2
        and cases[0][1] in result.stderr
        and len(result.stderr.strip().splitlines()) == 1
    )
    assert not (tmp_path / "r.md").exists()


def test_duplicates_warn_and_degenerate_cells_are_reported(tmp_path):
    good = pd.read_csv(FIXTURES / "balanced.csv")
    good["run_id"] = [f"r{i}" for i in range(len(good))]
    frame = pd.concat([good, good.iloc[:3]])
    # IWAE depth 2: one initializer only; VanillaVAE depth 2: constant metric
    frame = frame[
        ~((frame.model == "IWAE") & (frame.depth == 2) & (frame.initializer != "default"))
    ]
    frame.loc[(frame.model == "VanillaVAE") & (frame.depth == 2), "val_loss"] = 1.0
    frame.loc[
        (frame.model == "IWAE") & (frame.depth == 1) & (frame.initializer == "normal"), "val_loss"
    ] = np.nan
    loaded = load_results(write(tmp_path, frame))
    assert loaded.warnings == ["3 duplicated run_id row(s) (e.g. r0): kept the first of each"]
    report = tmp_path / "out" / "s.md"
    result = run("analyze", str(tmp_path / "runs.parquet"), "--report", str(report), *FAST)
    assert result.returncode == 0, result.stderr
    text = report.read_text()
    assert "IWAE, depth 2: only one initializer (default) has usable runs; not analyzed" in text
    assert (
        "VanillaVAE, depth 2: val_loss is the same in every run (zero variance); not analyzed"
        in text
    )
    assert "warning: 3 duplicated run_id" in result.stdout
    fails = pd.read_parquet(report.parent / "tables" / "failures.parquet")
    assert (
        fails.query("model == 'IWAE' and depth == 1 and initializer == 'normal'")["n_failed"].item()
        == 6
    )


def test_all_cells_unusable_is_one_error(tmp_path):
    frame = pd.read_csv(FIXTURES / "balanced.csv").assign(val_loss=np.nan)
    with pytest.raises(InitsensError, match="no cell of model x depth can be analyzed"):
        from initsens.analysis.study import analyze

        analyze(frame)


def test_log_option_and_its_error(tmp_path, monkeypatch, capsys):
    from initsens.analysis import oneway
    from initsens.analysis.study import log_metric

    data = pd.read_csv(FIXTURES / "balanced.csv")
    logged, name = log_metric(data, "val_loss")
    assert name == "log10(val_loss)"
    ours = oneway(logged, name, n_boot=10)
    second = oneway(data.assign(val_loss=np.log10(data["val_loss"])), n_boot=10)
    np.testing.assert_allclose(ours["f"], second["f"], rtol=1e-12)
    path = write(tmp_path, data.assign(val_loss=data["val_loss"] - 11.0), "neg.csv")
    monkeypatch.setattr(
        sys, "argv", ["initsens", "analyze", str(path), "--log", "--report", str(tmp_path / "r.md")]
    )
    with pytest.raises(SystemExit):
        main()
    err = capsys.readouterr().err
    assert (
        "--log needs positive values" in err
        and "'val_loss' are <= 0" in err
        and len(err.strip().splitlines()) == 1
    )


def test_normalization_becomes_a_factor_and_single_seed_cells_are_named():
    from initsens.analysis.study import analyze

    data = pd.read_csv(FIXTURES / "balanced.csv")
    both = pd.concat(
        [
            data.assign(normalization="zscore"),
            data.assign(normalization="minmax", val_loss=data["val_loss"] * 0.5),
        ],
        ignore_index=True,
    )
    single = both[
        ~(
            (both.model == "IWAE")
            & (both.depth == 1)
            & (both.normalization == "minmax")
            & (both.seed > 0)
        )
    ]
    analysis = analyze(single, n_boot=50, n_boot_icc=20)
    assert analysis.cell_keys == ["model", "depth", "normalization"]
    assert "normalization" in analysis.factors
    terms = set(analyze(both, n_boot=50, n_boot_icc=20).tables["factorial_anova"]["term"])
    assert {
        "normalization",
        "initializer:normalization",
        "model:initializer:depth:normalization",
    } <= terms
    assert (
        len(analysis.tables["oneway_anova"]) == 7
    )  # 8 cells, one with a single seed per initializer
    assert any(
        "IWAE, depth 1, normalization minmax: a single seed per initializer" in n
        for n in analysis.notes
    )
    assert any("full-factorial models are not estimable" in n for n in analysis.notes)
    assert analysis.tables["factorial_anova"].empty  # not a rank-deficient fit


def test_an_initializer_failing_in_one_cell_leaves_the_factorial():
    from initsens.analysis.study import analyze

    data = pd.read_csv(FIXTURES / "balanced.csv")
    data.loc[(data.model == "IWAE") & (data.initializer == "normal"), "val_loss"] = np.inf
    analysis = analyze(data, n_boot=50, n_boot_icc=20)
    assert any("initializer(s) normal left out" in n for n in analysis.notes)
    factorial = analysis.tables["factorial_anova"]
    assert factorial.query("term == 'initializer' and typ == 2")["df"].tolist() == [
        1.0,
        1.0,
    ]  # 2 levels left
