"""Raw counts: --transform puts them on a log scale per sample, before gene selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli as run

from initsens.data import Dataset, prepare, top_variable_genes
from initsens.data.transform import apply_transform, looks_like_counts, resolve_transform
from initsens.errors import InitsensError


def counts_matrix(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """60 samples x 40 genes of raw counts, 2 types: genes 0-9 are highly expressed (~1e5) with
    small relative variation; genes 30-39 are lowly expressed (~50) but differ 8-fold between the
    types.
    """
    rng = np.random.default_rng(seed)
    labels = np.repeat(["A", "B"], 30)
    mean = np.full(40, 500.0)
    mean[:10] = 1e5
    mean[30:] = 50.0
    fold = np.ones((60, 40))
    fold[labels == "B", 30:] = 8.0
    depth = rng.uniform(0.5, 2.0, size=(60, 1))  # library sizes differ
    counts = rng.poisson(mean * fold * depth * rng.lognormal(0, 0.05, size=(60, 40)))
    return counts.astype(np.float32), labels


def test_auto_recognizes_counts_only():
    counts, _ = counts_matrix()
    assert looks_like_counts(counts) and resolve_transform(counts, "auto") == "log2cpm"
    assert resolve_transform(np.log2(counts + 1), "auto") == "none"  # log scale: not whole numbers
    assert (
        resolve_transform(np.round(counts / 1000), "auto") == "none"
    )  # whole numbers but max <= 1,000
    assert resolve_transform(counts, "log2p1") == "log2p1"


def test_none_on_raw_counts_is_refused_in_one_line():
    """A preset written for log-scale data (eltager2023 says transform = none) must not train on
    counts silently.
    """
    counts, _ = counts_matrix()
    with pytest.raises(
        InitsensError,
        match=r"^counts.tsv: the values look like raw read counts .* use --transform "
        r"log2cpm",
    ):
        resolve_transform(counts, "none", "counts.tsv")
    assert resolve_transform(np.log2(counts + 1), "none") == "none"  # log-scale values: as they are


def test_log2cpm_is_per_sample():
    counts, _ = counts_matrix()
    out = apply_transform(counts, "log2cpm")
    np.testing.assert_allclose(out[3], np.log2(counts[3] / counts[3].sum() * 1e6 + 1), rtol=1e-6)
    other = counts.copy()
    other[10] *= (
        7  # another sample changes: this one does not (nothing crosses samples, hence the split)
    )
    np.testing.assert_array_equal(apply_transform(other, "log2cpm")[3], out[3])
    np.testing.assert_allclose(
        apply_transform(counts, "log2p1"), np.log2(counts.astype(np.float64) + 1), rtol=1e-6
    )


def test_transform_comes_before_gene_selection():
    counts, labels = counts_matrix()
    dataset = Dataset(
        counts, [f"S{i}" for i in range(60)], [f"G{j}" for j in range(40)], labels, "counts"
    )
    logged = prepare(dataset, top_genes=10, transform="auto")
    assert logged.transform == "log2cpm"
    on_counts = top_variable_genes(
        counts, 10
    )  # what transform none would select: refused for that reason
    assert set(on_counts) == set(range(10))  # on counts, MAD picks the expressed genes
    assert set(logged.gene_ids) == {f"G{j}" for j in range(30, 40)}  # on log-CPM, the variable ones
    with pytest.raises(InitsensError, match="look like raw read counts"):
        prepare(dataset, top_genes=10, transform="none")


def test_transform_errors_are_one_line():
    with pytest.raises(InitsensError, match="needs non-negative values but the data go down to -1"):
        apply_transform(np.array([[-1.0, 2.0]], dtype=np.float32), "log2p1")
    with pytest.raises(InitsensError, match="unknown --transform 'vst'"):
        resolve_transform(np.ones((2, 2)), "vst")
    with pytest.raises(InitsensError, match="1 sample\\(s\\) sum to 0"):
        apply_transform(np.array([[0.0, 0.0], [3.0, 5000.0]], dtype=np.float32), "log2cpm")


@pytest.mark.slow
def test_counts_file_trains_with_auto_and_records_the_transform(tmp_path):
    counts, labels = counts_matrix()
    frame = pd.DataFrame(counts.astype(np.int64), columns=[f"ENSG{j:011d}" for j in range(40)])
    frame.insert(0, "cancer_type", labels)
    frame.insert(0, "sample", [f"S{i}" for i in range(60)])
    path = tmp_path / "counts.tsv"
    frame.to_csv(path, sep="\t", index=False)
    info = run("data", "info", "--data", str(path), "--top-genes", "10")
    assert info.returncode == 0 and "log2cpm" in info.stdout
    out = tmp_path / "results"
    result = run(
        "train",
        "--data",
        str(path),
        "--models",
        "VanillaVAE",
        "--inits",
        "default",
        "--depths",
        "1",
        "--repeats",
        "2",
        "--epochs",
        "2",
        "--top-genes",
        "10",
        "--hidden-dims",
        "8",
        "--latent-dim",
        "2",
        "--out",
        str(out),
        "--quiet",
    )
    assert result.returncode == 0, result.stderr
    assert "--transform auto applies log2cpm" in result.stdout
    runs = pd.read_parquet(out / "runs")
    assert set(runs["transform"]) == {"log2cpm"} and set(runs["status"]) == {"ok"}
