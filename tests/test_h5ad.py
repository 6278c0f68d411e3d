"""AnnData (.h5ad) input: dense and sparse matrices, counts in a layer, labels in obs, gene ids from
var; every result compared with the same values read from a CSV file (a second, independent path).
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from initsens.data import load_dataset, prepare
from initsens.data.matrix import is_sparse
from initsens.errors import InitsensError

anndata = pytest.importorskip("anndata")

N_PER, TYPES, GENES = 12, ("BRCA", "LUAD", "KIRC"), 200


def _counts(seed: int = 0) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Raw counts (30% zeros, maximum well above 1,000) for three cancer types, with obs and var
    tables.
    """
    rng = np.random.default_rng(seed)
    means = rng.gamma(2.0, 300.0, size=(len(TYPES), GENES))
    rows = np.repeat(np.arange(len(TYPES)), N_PER)
    counts = rng.poisson(means[rows] * (rng.random((len(rows), GENES)) < 0.7)).astype(np.float32)
    obs = pd.DataFrame(
        {"cell_type": np.repeat(TYPES, N_PER), "batch": "b1"},
        index=[f"S{i:03d}" for i in range(len(rows))],
    )
    var = pd.DataFrame(
        {"symbol": [f"SYM{j}" for j in range(GENES)]}, index=[f"ENSG{j:05d}" for j in range(GENES)]
    )
    return counts, obs, var


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The same counts as a sparse layer (X holding log values), as a dense X, and as a CSV
    matrix.
    """
    folder = tmp_path_factory.mktemp("h5ad")
    counts, obs, var = _counts()
    anndata.AnnData(
        X=sparse.csr_matrix(np.log2(counts + 1)),
        obs=obs,
        var=var,
        layers={"counts": sparse.csr_matrix(counts)},
    ).write_h5ad(folder / "sparse.h5ad")
    anndata.AnnData(X=counts, obs=obs, var=var).write_h5ad(folder / "dense.h5ad")
    csv = pd.DataFrame(counts, index=obs.index, columns=var.index)
    csv.insert(0, "cancer_type", obs["cell_type"])
    csv.rename_axis("sample").reset_index().to_csv(folder / "counts.csv", index=False)
    (folder / "broken.h5ad").write_bytes(b"not an HDF5 file")
    return folder


def test_sparse_layer_dense_x_and_csv_give_the_same_dataset_and_prepared_arrays(files):
    from_layer = load_dataset(files / "sparse.h5ad", layer="counts")
    from_x = load_dataset(files / "dense.h5ad")
    from_csv = load_dataset(files / "counts.csv")
    assert is_sparse(from_layer.X) and not is_sparse(from_x.X)
    assert (
        from_layer.sha256 == from_x.sha256 == from_csv.sha256
    )  # hashed as dense rows: the format does not count
    assert list(from_layer.labels) == list(from_csv.labels) and from_layer.classes == sorted(TYPES)
    assert from_layer.name.endswith("(layer 'counts')")
    reference = prepare(from_csv, top_genes=40)
    assert reference.transform == "log2cpm"  # counts: --transform auto acts
    for dataset in (from_layer, from_x):
        prepared = prepare(dataset, top_genes=40)
        assert prepared.transform == "log2cpm"
        np.testing.assert_array_equal(prepared.gene_ids, reference.gene_ids)
        np.testing.assert_array_equal(prepared.train_ids, reference.train_ids)
        np.testing.assert_allclose(prepared.X_train, reference.X_train, rtol=0, atol=1e-6)
        np.testing.assert_allclose(prepared.X_val, reference.X_val, rtol=0, atol=1e-6)


def test_x_holding_log_values_is_not_transformed_and_gene_ids_may_come_from_var(files):
    dataset = load_dataset(files / "sparse.h5ad", gene_column="symbol")
    counts, _, _ = _counts()
    np.testing.assert_allclose(dataset.X.toarray(), np.log2(counts + 1), rtol=1e-6)
    assert prepare(dataset, top_genes=10).transform == "none"
    assert dataset.gene_ids[:2].tolist() == ["SYM0", "SYM1"]


def test_labels_from_a_named_obs_column_or_a_phenotype_table(files, tmp_path):
    named = load_dataset(files / "dense.h5ad", label_column="batch")
    assert set(named.labels) == {"b1"}
    pheno = tmp_path / "pheno.tsv"
    counts, obs, _ = _counts()
    pd.DataFrame(
        {"sample": obs.index[::-1], "label": [f"T{i % 2}" for i in range(len(obs))]}
    ).to_csv(pheno, sep="\t", index=False)
    joined = load_dataset(files / "sparse.h5ad", labels=pheno, layer="counts")
    expected = {s: f"T{i % 2}" for i, s in enumerate(obs.index[::-1])}
    assert joined.labels.tolist() == [expected[s] for s in joined.sample_ids]


def test_missing_values_in_a_sparse_matrix_are_reported_or_imputed(tmp_path):
    counts, obs, var = _counts()
    counts[3, 5] = np.nan
    path = tmp_path / "nan.h5ad"
    anndata.AnnData(X=sparse.csr_matrix(counts), obs=obs, var=var).write_h5ad(path)
    with pytest.raises(
        InitsensError, match=r"1 missing or infinite value\(s\) in 1 gene\(s\) \[ENSG00005"
    ):
        load_dataset(path)
    imputed = load_dataset(path, impute="zero")
    assert imputed.X[3, 5] == 0 and imputed.n_genes == GENES
    assert load_dataset(path, drop_missing="genes").n_genes == GENES - 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"data": "broken.h5ad"},
            r"broken\.h5ad: not a readable \.h5ad file \(.+\); write it with AnnData\.write_h5ad",
        ),
        ({"layer": "raw"}, r"no layer 'raw' for --layer \(layers: 'counts'\)"),
        (
            {"label_column": "tissue"},
            r"no obs column 'tissue' for --label-column \(obs columns: 'cell_type', 'batch'\)",
        ),
        (
            {"gene_column": "gene"},
            r"no var column 'gene' for --gene-column \(var columns: 'symbol'\)",
        ),
        ({"orientation": "genes-x-samples"}, r"--orientation does not apply to \.h5ad files"),
        (
            {"data": "counts.csv", "layer": "counts"},
            r"counts\.csv: --layer and --gene-column apply to \.h5ad files only",
        ),
        ({"data": "tcga5", "layer": "counts"}, r"apply to files, not to the named dataset 'tcga5'"),
    ],
)
def test_bad_h5ad_input_is_one_line(files, kwargs, message):
    kwargs = dict(kwargs)
    name = kwargs.pop("data", "sparse.h5ad")
    data = name if name == "tcga5" else files / name
    with pytest.raises(InitsensError, match=message) as error:
        load_dataset(data, **kwargs)
    assert "\n" not in str(error.value)


def test_without_anndata_an_h5ad_path_names_the_extra(files, monkeypatch):
    monkeypatch.setitem(sys.modules, "anndata", None)  # import anndata now raises ImportError
    with pytest.raises(
        InitsensError,
        match=r"needs the anndata package; install it with pip install "
        r"'initsens\[anndata\]'",
    ):
        load_dataset(files / "sparse.h5ad")


def test_cli_trains_and_describes_an_h5ad_file(files, tmp_path):
    from typer.testing import CliRunner

    from initsens.cli import app

    runner = CliRunner()
    info = runner.invoke(
        app,
        [
            "data",
            "info",
            "--data",
            str(files / "sparse.h5ad"),
            "--layer",
            "counts",
            "--top-genes",
            "20",
        ],
        env={"COLUMNS": "200"},
    )
    assert info.exit_code == 0, info.output
    assert "kept sparse" in info.output and "log2cpm" in info.output and "BRCA 12" in info.output
    out = tmp_path / "runs"
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(files / "sparse.h5ad"),
            "--layer",
            "counts",
            "--models",
            "VanillaVAE",
            "--inits",
            "default",
            "--depths",
            "1",
            "--repeats",
            "1",
            "--epochs",
            "2",
            "--top-genes",
            "20",
            "--hidden-dims",
            "8",
            "--latent-dim",
            "2",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    runs = pd.read_parquet(out / "runs")
    assert runs["transform"].tolist() == ["log2cpm"] and runs["n_genes"].tolist() == [20]
    assert runs["dataset_sha256"].iloc[0] == load_dataset(files / "counts.csv").sha256


def test_mostly_zero_counts_stop_a_mad_selection_with_one_line_and_train_by_variance(
    tmp_path, monkeypatch
):
    """With more than half of a gene's values 0 its MAD is 0: a top-k by MAD would follow the file's
    gene order.
    """
    counts, obs, var = _counts()
    rng = np.random.default_rng(1)
    counts = counts * (rng.random(counts.shape) < 0.3)  # 79% zeros
    path = tmp_path / "sparse_counts.h5ad"
    anndata.AnnData(X=sparse.csr_matrix(counts), obs=obs, var=var).write_h5ad(path)
    dataset = load_dataset(path)
    with pytest.raises(
        InitsensError,
        match=r"^only \d+ of 200 genes have a positive spread by 'mad' .*; use "
        r"--gene-selection variance or meanad, or --top-genes \d+ or less$",
    ):
        prepare(dataset, top_genes=40)
    from initsens.cli import main

    out = tmp_path / "out"  # train stops before anything is created
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "initsens",
            "train",
            "--data",
            str(path),
            "--top-genes",
            "40",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 2 and not out.exists()
    prepared = prepare(dataset, top_genes=40, gene_selection="variance")
    rows = [
        list(obs.index).index(sample) for sample in prepared.train_ids
    ]  # the training split, recomputed densely
    log_cpm = np.log2(
        counts[rows].astype(np.float64) / counts[rows].sum(axis=1, keepdims=True) * 1e6 + 1
    )
    spread = log_cpm.astype(np.float32).var(axis=0, dtype=np.float64)
    expected = var.index[np.sort(np.lexsort((np.arange(GENES), -spread))[:40])]
    assert list(prepared.gene_ids) == list(expected)
