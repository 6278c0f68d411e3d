"""`initsens reproduce` end to end on tiny grids: both protocols trained with both readings of "the
default", every claim judged under each check, resumable; a user's own Xena-style matrix with a
phenotype table; one-line errors. The ladder is tested in test_studies.py on a smaller grid.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from initsens.reproduction.claims import (
    CHECKS,
    CLAIMS,
    NELBO,
    OTHER_DEFAULT,
    PRIMARY,
    SOURCE,
    VERDICTS,
)

TINY = (
    "--repeats",
    "2",
    "--epochs",
    "2",
    "--top-genes",
    "60",
    "--hidden-dims",
    "16",
    "--latent-dim",
    "4",
    "--n-boot",
    "50",
    "--n-boot-icc",
    "20",
)
TWO = (
    "--protocols",
    "eltager2023,initsens",
)  # the original-scale protocol has a test of its own (its phases)


@pytest.mark.slow
def test_tiny_reproduction_judges_every_claim_under_both_protocols_and_both_readings(tmp_path):
    out, report = tmp_path / "results", tmp_path / "reports" / "reproduction.md"
    first = run_cli(
        "reproduce",
        *TINY,
        *TWO,
        "--no-ladder",
        "--out",
        str(out),
        "--report",
        str(report),
        timeout=1200,
    )
    assert first.returncode == 0, first.stderr
    folder = report.parent / "reproduction"
    claims = pd.read_parquet(folder / "tables" / "claims.parquet")
    assert set(claims["verdict"]) <= {*VERDICTS, ""}
    expected = {
        PRIMARY: ("P1", "P2", "P3", "P4", "E1", "E2"),
        NELBO: ("P1", "P2", "P3", "P4", "E2"),
        OTHER_DEFAULT: ("P2", "P3"),
    }  # the loss claims on val_nelbo; those naming "the default" read both ways
    assert {name: check.claims() for name, check in CHECKS.items()} == expected
    for check, keys in expected.items():  # each check judges its claims under both protocols
        judged = claims[(claims["check"] == check) & (claims["scope"] == SOURCE)]
        assert sorted(zip(judged["claim"], judged["study"])) == sorted(
            (c, s) for c in keys for s in ("eltager2023", "initsens")
        )
    evidence = pd.read_parquet(folder / "tables" / "evidence.parquet")
    assert set(evidence["check"]) == {PRIMARY, NELBO, OTHER_DEFAULT}
    # P3 claims "the default": the protocol's own reading, or the other one under that check
    p3 = (
        evidence[(evidence["claim"] == "P3")]
        .set_index(["study", "check"])["claimed"]
        .str.split(", ")
    )
    assert all(
        "kaiming_uniform" in c and "default" not in c for c in p3.loc[("eltager2023", PRIMARY)]
    )
    assert all(
        "default" in c and "kaiming_uniform" not in c
        for c in p3.loc[("eltager2023", OTHER_DEFAULT)]
    )
    assert all("default" in c and "kaiming_uniform" not in c for c in p3.loc[("initsens", PRIMARY)])
    assert all("kaiming_uniform" in c for c in p3.loc[("initsens", OTHER_DEFAULT)])
    text = report.read_text()
    assert (
        text.index("## Decision rules")
        < text.index("## Claims and verdicts")
        < text.index("## Evidence per")
    )
    assert "The original protocol at the original data's scale" not in text  # --no-ladder
    for key in CLAIMS:
        assert f"### {key}" in text and (folder / "figures" / f"claim_{key}.png").stat().st_size
        assert CLAIMS[key].rule in text  # the rules are printed from the one place they are written
    assert (folder / "eltager2023" / "summary.md").is_file() and (
        folder / "initsens" / "summary.md"
    ).is_file()
    runs = pd.read_parquet(out / "eltager2023" / "runs")
    assert len(runs) == 4 * 6 * 2 * 2 * 2 and set(runs["preset"]) == {
        "eltager2023"
    }  # both readings trained
    assert {"default", "kaiming_uniform"} <= set(runs["initializer"])
    again = run_cli(
        "reproduce",
        *TINY,
        *TWO,
        "--no-ladder",
        "--out",
        str(out),
        "--no-judge",
        "--quiet",
        timeout=900,
    )
    assert again.returncode == 0, again.stderr
    assert (
        again.stdout.count("0 runs trained (none), 192 already recorded") == 2
    )  # nothing retrained


@pytest.mark.slow
def test_a_phased_protocol_is_judged_on_its_complete_phases_and_says_what_waits(tmp_path):
    """eltager2023-pancan with only its z-score phase trained: judged on it (P1, P2, P3, E1, E2 have
    verdicts), P4 waits for min-max and the other-default check for its phase, each shown with its
    progress, in the report, the claims table and the console; a protocol with only a few runs
    trained shows "2 of N" instead of stopping.
    """
    out, report = tmp_path / "results", tmp_path / "rep.md"
    small = (
        "--repeats",
        "2",
        "--epochs",
        "2",
        "--top-genes",
        "40",
        "--hidden-dims",
        "8",
        "--latent-dim",
        "3",
        "--depths",
        "1",
    )
    trained = run_cli(
        "train",
        "--config",
        "eltager2023-pancan",
        *small,
        "--normalizations",
        "zscore",
        "--out",
        str(out / "eltager2023-pancan"),
        "--quiet",
        timeout=900,
    )
    assert trained.returncode == 0, trained.stderr
    begun = run_cli(
        "train",
        "--config",
        "initsens",
        *small[2:],
        "--models",
        "VanillaVAE",
        "--inits",
        "default",
        "--seeds",
        "0,1",
        "--out",
        str(out / "initsens"),
        "--quiet",
        timeout=900,
    )  # 2 of its 96 runs
    assert begun.returncode == 0, begun.stderr
    judged = run_cli(
        "reproduce",
        *small,
        "--n-boot",
        "20",
        "--n-boot-icc",
        "10",
        "--no-train",
        "--no-ladder",
        "--protocols",
        "eltager2023-pancan,initsens",
        "--out",
        str(out),
        "--report",
        str(report),
        timeout=900,
    )
    assert judged.returncode == 0, judged.stderr
    claims = pd.read_parquet(tmp_path / "rep" / "tables" / "claims.parquet")
    primary = claims[(claims["check"] == PRIMARY) & (claims["scope"] == SOURCE)].set_index("claim")
    assert set(primary.index) == {"P1", "P2", "P3", "E1", "E2"} and set(claims["study"]) == {
        "eltager2023-pancan"
    }
    text = report.read_text()
    assert (
        "waits for min-max: 0 of 40 trained" in text
        and "waits for the other default: 0 of 16 trained" in text
    )
    assert "| z-score | 40 of 40 | yes |" in text and "| min-max | 0 of 40 | not yet |" in text
    assert "| initsens | not judged: 2 of 96 runs trained | – |" in text.replace("*", "")
    assert "What a 247-sample stand-in can and cannot show" in text
    assert "min-max: 0 of 40 trained" in judged.stdout and "initsens: 2 of 96 runs" in judged.stdout
    cached = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "rep" / ".cache").glob("*.pkl")}
    assert set(cached) == {"eltager2023-pancan.pkl", "initsens.pkl"}
    again = run_cli(
        "reproduce",
        *small,
        "--n-boot",
        "20",
        "--n-boot-icc",
        "10",
        "--no-train",
        "--no-ladder",
        "--protocols",
        "eltager2023-pancan,initsens",
        "--out",
        str(out),
        "--report",
        str(report),
        timeout=900,
    )
    assert again.returncode == 0, (
        again.stderr
    )  # judged again from the cache: nothing recomputed, same verdicts
    assert {
        p.name: p.stat().st_mtime_ns for p in (tmp_path / "rep" / ".cache").glob("*.pkl")
    } == cached
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "rep" / "tables" / "claims.parquet"), claims
    )


@pytest.mark.slow
def test_reproduce_reads_a_xena_style_matrix_with_a_phenotype_table(tmp_path):
    """A genes x samples TSV (Xena's layout) and a phenotype table with 'cancer type abbreviation':
    the options `initsens train` has reach `initsens reproduce` too.
    """
    rng = np.random.default_rng(3)
    types = np.repeat(["BRCA", "LUAD", "KIRC"], 20)
    centres = rng.normal(0, 3, (3, 40))
    X = centres[np.repeat(np.arange(3), 20)] + rng.normal(0, 1, (60, 40))
    samples = [f"TCGA-{i:02d}" for i in range(60)]
    matrix = pd.DataFrame(X.T, columns=samples)
    matrix.insert(0, "sample", [f"G{g}" for g in range(40)])
    data, pheno = tmp_path / "HiSeqV2.tsv", tmp_path / "pheno"
    matrix.to_csv(data, sep="\t", index=False)
    pd.DataFrame({"sample": samples[::-1], "cancer type abbreviation": types[::-1]}).to_csv(
        pheno, sep="\t", index=False
    )
    out, report = tmp_path / "results", tmp_path / "rep.md"
    result = run_cli(
        "reproduce",
        "--data",
        str(data),
        "--labels",
        str(pheno),
        "--orientation",
        "genes-x-samples",
        "--protocols",
        "initsens",
        "--own-default",
        "--no-ladder",
        "--depths",
        "1",
        "--normalizations",
        "zscore",
        "--repeats",
        "2",
        "--epochs",
        "2",
        "--top-genes",
        "30",
        "--hidden-dims",
        "8",
        "--latent-dim",
        "2",
        "--n-boot",
        "20",
        "--n-boot-icc",
        "10",
        "--out",
        str(out),
        "--report",
        str(report),
        "--quiet",
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    runs = pd.read_parquet(out / "initsens" / "runs")
    assert (
        len(runs) == 4 * 5 * 2
        and set(runs["n_genes"]) == {30}
        and set(runs["dataset"]) == {str(data)}
    )
    assert runs["ari"].notna().all()  # the labels reached the clustering
    assert "kaiming_uniform" not in set(runs["initializer"])  # --own-default
    assert report.is_file()


def test_bad_protocol_ablation_and_data_are_one_line_errors(tmp_path):
    counts = tmp_path / "counts.tsv"
    pd.DataFrame(
        np.random.default_rng(0).integers(0, 5000, (20, 30)),
        columns=[f"G{g}" for g in range(30)],
        index=[f"S{i}" for i in range(20)],
    ).to_csv(counts, sep="\t", index_label="sample")
    out = tmp_path / "never"
    for args, message in (
        (("--protocols", "eltager2024"), "unknown preset 'eltager2024'"),
        (("--ablation", "eltager2023"), "--ablation 'eltager2023': write PRESET:KEY=VALUE"),
        (("--orientation", "sideways"), "unknown --orientation 'sideways'"),
        (
            ("--data", str(counts), "--transform", "none", "--top-genes", "10", "--out", str(out)),
            "look like raw read counts",
        ),
    ):
        result = run_cli("reproduce", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1 and "runs into" not in result.stdout
    assert not out.exists()  # bad data stops before any folder is made


@pytest.mark.slow
def test_ctrl_c_stops_the_whole_reproduction_after_saving_the_finished_runs(tmp_path):
    """Ctrl-C in the first study: its finished runs are kept, it says it was interrupted, and the
    next study does not start (it used to: each study's sweep swallowed the interrupt and the loop
    went on).
    """
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "results"
    command = [
        sys.executable,
        "-c",
        "from initsens.cli import main; main()",
        "reproduce",
        "--quiet",
        "--no-ladder",
        "--own-default",
        "--protocols",
        "initsens,eltager2023",
        "--repeats",
        "2",
        "--epochs",
        "400",
        "--top-genes",
        "40",
        "--hidden-dims",
        "8",
        "--latent-dim",
        "3",
        "--out",
        str(out),
        "--report",
        str(tmp_path / "r.md"),
    ]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + 300
    while not list((out / "initsens" / "runs").glob("part-*.parquet")) and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "interrupted:" in stdout and "run the same command again to continue" in stdout
    assert 0 < len(pd.read_parquet(out / "initsens" / "runs"))
    assert not (out / "eltager2023").exists() and not (tmp_path / "r.md").exists()
