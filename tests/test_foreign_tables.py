"""`initsens analyze` on a table written by another tool: its own column names, string replicate
ids, MLflow status words. The table has a planted effect (the optimizer matters in one cell only),
so the right answer is known; the one-way numbers are recomputed with scipy, and the same table
under initsens' names must give the same tables.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from initsens.analysis.design import Design
from initsens.analysis.inputs import check_runs, load_results
from initsens.analysis.study import analyze
from initsens.errors import InitsensError

FAST = {"n_boot": 200, "n_boot_icc": 50}
SHIFT, NOISE = (
    -0.08,
    0.01,
)  # sgd's accuracy drop in the cnn x cifar cell; the seed-to-seed sd everywhere
#: omega^2 in the planted cell: the optimizer means' population variance over it plus the noise
#: variance
PLANTED_OMEGA = np.var([0, 0, SHIFT]) / (np.var([0, 0, SHIFT]) + NOISE**2)
FOREIGN = (
    "--factor",
    "optimizer",
    "--by",
    "model,dataset",
    "--replicate",
    "run",
    "--metric",
    "accuracy",
)


def sweep(seed: int = 0) -> pd.DataFrame:
    """2 models x 2 datasets x 3 optimizers x 10 runs (ids 'r0'...'r9'), MLflow statuses, two failed
    runs.
    """
    rng = np.random.default_rng(seed)
    rows = [
        {
            "model": model,
            "dataset": dataset,
            "optimizer": optimizer,
            "run": f"r{r}",
            "accuracy": 0.9
            + (SHIFT if (model, dataset, optimizer) == ("cnn", "cifar", "sgd") else 0.0)
            + rng.normal(0.0, NOISE),
            "status": "FINISHED",
        }
        for model in ("mlp", "cnn")
        for dataset in ("mnist", "cifar")
        for optimizer in ("adam", "rmsprop", "sgd")
        for r in range(10)
    ]
    table = pd.DataFrame(rows)
    failed = (
        (table["model"] == "mlp")
        & (table["dataset"] == "mnist")
        & (table["optimizer"] == "sgd")
        & table["run"].isin(["r3", "r7"])
    )
    table.loc[failed, ["accuracy", "status"]] = [np.nan, "FAILED"]
    return table


@pytest.fixture(scope="module")
def csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("foreign") / "sweep.csv"
    sweep().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def result(csv):
    design = Design.parse("optimizer", "model,dataset", "run")
    loaded = load_results(csv, "accuracy", design)
    return loaded, analyze(loaded.runs, "accuracy", **FAST, design=design)


def test_statuses_map_and_string_replicates_stay(result):
    loaded, analysis = result
    assert any("status column mapped" in w and "FINISHED → ok" in w for w in loaded.warnings)
    assert int(analysis.runs["failed"].sum()) == 2
    failures = analysis.tables["failures"].set_index(["model", "dataset", "optimizer"])
    assert failures.loc[("mlp", "mnist", "sgd"), "n_failed"] == 2
    assert set(loaded.runs["run"]) == {f"r{r}" for r in range(10)}
    assert analysis.higher_is_better  # accuracy: higher is better, from its name


def test_the_planted_cell_alone_shows_an_effect_and_matches_scipy(result):
    _, analysis = result
    data = analysis.runs[~analysis.runs["failed"]]
    oneway = analysis.tables["oneway_anova"].set_index(["model", "dataset"])
    for (model, dataset), row in oneway.iterrows():
        cell = data[(data["model"] == model) & (data["dataset"] == dataset)]
        reference = stats.f_oneway(*[g["accuracy"] for _, g in cell.groupby("optimizer")])
        assert row["f"] == pytest.approx(reference.statistic, rel=1e-9)
        assert row["p_value"] == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-300)
        if (model, dataset) == ("cnn", "cifar"):
            assert row["p_holm"] < 1e-10 and abs(row["omega_sq"] - PLANTED_OMEGA) < 0.05
        else:
            assert row["p_holm"] > 0.01
    best = analysis.tables["descriptives"].query("model == 'cnn' and dataset == 'cifar' and best")
    assert set(best["optimizer"]) == {
        "adam",
        "rmsprop",
    }  # sgd is significantly worse; higher is better
    ranking = (
        analysis.tables["sensitivity"]
        .query("index == 'omega_sq' and dataset == 'cifar'")
        .set_index("model")
    )
    assert ranking.loc["cnn", "rank"] == 1 and ranking.loc["cnn", "resolved"]
    assert ranking.loc["cnn", "next_model"] == "mlp"
    components = analysis.tables["variance_components"]["component"]
    assert set(components) == {"optimizer", "run", "residual"}


def test_the_same_table_in_initsens_names_gives_the_same_tables(csv, result):
    """Only the names differ (the cells keep their values, so even the per-cell bootstrap streams
    are the same).
    """
    _, foreign = result
    ours = pd.read_csv(csv).rename(columns={"optimizer": "initializer", "run": "seed"})
    design = Design(by=("model", "dataset"))
    runs, _ = check_runs(ours, "ours", "accuracy", design)
    native = analyze(runs, "accuracy", **FAST, design=design)
    back = {"initializer": "optimizer", "seed": "run"}
    assert set(native.tables) == set(foreign.tables)
    for name, theirs in foreign.tables.items():
        mine = native.tables[name].rename(columns=back)
        for column in mine.select_dtypes(
            object
        ).columns:  # term and component names carry the column names
            mine[column] = mine[column].map(
                lambda v: (
                    re.sub(r"\b(initializer|seed)\b", lambda m: back[m.group(1)], v)
                    if isinstance(v, str)
                    else v
                )
            )
        pd.testing.assert_frame_equal(mine, theirs, obj=name)


def test_cli_report_uses_the_tables_names_throughout(csv, tmp_path):
    from typer.testing import CliRunner

    from initsens.cli import app

    report = tmp_path / "rep" / "summary.md"
    result = CliRunner().invoke(
        app,
        [
            "analyze",
            str(csv),
            *FOREIGN,
            "--report",
            str(report),
            "--n-boot",
            "200",
            "--n-boot-icc",
            "50",
        ],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "status column mapped" in result.output
    text = report.read_text()
    assert "initializ" not in text.lower() and "seed" not in text.lower()
    assert (
        "# Optimizer sensitivity report: `accuracy`" in text
        and "- **Optimizer effect.** In 1 of 4 cells" in text
    )
    assert (
        "Best optimizer and those the data cannot separate from it** (highest mean" in text
        and "(1 | run)" in text
    )
    assert (report.parent / "figures" / "metric_by_optimizer.png").read_bytes()[:4] == b"\x89PNG"
    sensitivity = pq.read_schema(report.parent / "tables" / "sensitivity.parquet")
    assert {"dataset", "model", "next_model"} <= set(sensitivity.names)
    assert sensitivity.field("dataset").metadata[b"description"] == b"cell column (--by)"
    posthoc = pq.read_schema(report.parent / "tables" / "posthoc.parquet")
    assert posthoc.field("group1").metadata[b"description"] == b"first optimizer"


def test_unknown_status_words_are_ignored_with_a_note(tmp_path):
    table = sweep().assign(status="done")
    path = tmp_path / "t.csv"
    table.to_csv(path, index=False)
    loaded = load_results(path, "accuracy", Design.parse("optimizer", "model,dataset", "run"))
    assert "status" not in loaded.runs.columns
    assert any(
        "status column in" in w and "'done'" in w and "ignored" in w for w in loaded.warnings
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (
                "--factor",
                "optimizer",
                "--by",
                "model,task",
                "--replicate",
                "run",
                "--metric",
                "accuracy",
            ),
            r"has no column\(s\) 'task' \(columns found: model, dataset, optimizer, run, "
            r"accuracy, status\)",
        ),
        (
            ("--factor", "optimizer", "--by", "model,optimizer", "--replicate", "run"),
            r"column 'optimizer' is given more than one part",
        ),
        (
            ("--metric", "accuracy"),
            r"has no column\(s\) 'depth', 'initializer', 'seed' .*; name the columns with "
            r"--factor, --by, --replicate and --metric",
        ),
        (("--factor", "optimizer", "--by", ",", "--replicate", "run"), r"--by ',' names no column"),
    ],
)
def test_bad_column_roles_are_one_line(csv, args, message):
    from typer.testing import CliRunner

    from initsens.cli import app

    result = CliRunner().invoke(app, ["analyze", str(csv), *args])
    # an InitsensError is what `initsens` prints as one line and exit status 2 (tests/test_cli.py)
    assert isinstance(result.exception, InitsensError), result.output
    assert "\n" not in str(result.exception) and re.search(message, str(result.exception))


def test_explicit_default_names_give_the_same_tables_and_report(csv, tmp_path):
    """`--factor initializer --by model,depth --replicate seed` on initsens' names is the default,
    to the byte.
    """
    from initsens.analysis.inputs import Results
    from initsens.report import write_report

    ours = pd.read_csv(csv).rename(columns={"optimizer": "initializer", "run": "seed"})
    ours["depth"] = ours.pop("dataset").map({"cifar": 1, "mnist": 2})
    ours["seed"] = ours["seed"].str[1:].astype(int)
    texts, tables = [], []
    for name, design in (
        ("implicit", Design()),
        ("explicit", Design.parse("initializer", "model,depth", "seed")),
    ):
        runs, _ = check_runs(ours, "ours", "accuracy", design)
        analysis = analyze(runs, "accuracy", **FAST, design=design)
        written = write_report(
            analysis, Results(runs, None, [csv]), tmp_path / name / "summary.md", "same command"
        )
        texts.append(re.sub(r"on \d{4}-\d\d-\d\d \d\d:\d\d UTC", "", written.report.read_text()))
        tables.append({p.name: pd.read_parquet(p) for p in written.tables})
    assert texts[0] == texts[1] and "initializer" in texts[0]
    assert tables[0].keys() == tables[1].keys()
    for name in tables[0]:
        pd.testing.assert_frame_equal(tables[0][name], tables[1][name], obj=name)
