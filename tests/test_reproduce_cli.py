"""`initsens reproduce` end to end on a tiny grid: both protocols trained, every claim judged, resumable."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from initsens.analysis.claims import CLAIMS, VERDICTS

TINY = ("--repeats", "2", "--epochs", "2", "--top-genes", "60", "--hidden-dims", "16", "--latent-dim", "4",
        "--n-boot", "50", "--n-boot-icc", "20")


@pytest.mark.slow
def test_tiny_reproduction_judges_every_claim_under_both_protocols(tmp_path):
    out, report = tmp_path / "results", tmp_path / "reports" / "reproduction.md"
    first = run_cli("reproduce", *TINY, "--out", str(out), "--report", str(report), timeout=900)
    assert first.returncode == 0, first.stderr
    claims = pd.read_parquet(report.parent / "reproduction" / "tables" / "claims.parquet")
    assert sorted(zip(claims["claim"], claims["protocol"])) == sorted(
        (c, p) for c in CLAIMS for p in ("eltager2023", "initsens"))
    assert set(claims["verdict"]) <= set(VERDICTS)
    assert np.isfinite(claims[["estimate", "ci_low", "ci_high"]].to_numpy(np.float64)).all()
    counts = claims[["n_supported", "n_contradicted", "n_unresolved"]].sum(axis=1)
    assert (counts > 0).all()
    text = report.read_text()
    assert text.index("## Decision rules") < text.index("## Claims and verdicts")
    for key in CLAIMS:
        assert f"### {key}" in text and (report.parent / "reproduction" / "figures" / f"claim_{key}.png").stat().st_size
    runs = pd.read_parquet(out / "eltager2023" / "runs")
    assert len(runs) == 4 * 5 * 2 * 2 * 2 and set(runs["preset"]) == {"eltager2023"}
    evidence = pd.read_parquet(report.parent / "reproduction" / "tables" / "evidence.parquet")
    finite = evidence[["estimate", "ci_low", "ci_high"]].to_numpy(np.float64)
    assert np.isfinite(finite).mean() > 0.5  # most sub-results have numbers (all-failed cells may not)
    again = run_cli("reproduce", *TINY, "--out", str(out), "--no-judge", "--quiet", timeout=900)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("0 runs trained (none), 160 already recorded") == 2  # nothing retrained


def test_bad_protocol_and_ablation_are_one_line_errors():
    for args, message in ((("--protocols", "eltager2024"), "unknown preset 'eltager2024'"),
                          (("--ablation", "eltager2023"), "--ablation 'eltager2023': write PRESET:KEY=VALUE")):
        result = run_cli("reproduce", "--no-train", *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
