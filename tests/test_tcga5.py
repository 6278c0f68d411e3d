"""The embedded real dataset ``tcga5``: contents, size, and agreement with its float32 source."""

from __future__ import annotations

import importlib.util
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest

from initsens.data import load_dataset, prepare, tcga5_path
from initsens.data.genes import gene_spread, top_variable_genes
from initsens.data.split import train_val_split

COUNTS = {"UVM": 80, "ACC": 79, "UCS": 57, "DLBC": 48, "CHOL": 45}  # the source README's table
HALF_ULP_BELOW_32 = 2.0**-6  # float16 spacing is 2^-5 in [16, 32): rounding error <= 2^-6


@pytest.fixture(scope="module")
def tcga5():
    return load_dataset("tcga5")


@pytest.fixture(scope="module")
def source(tcga_subset_path):
    return load_dataset(tcga_subset_path)


def test_embedded_dataset_is_the_default_and_real(tcga5):
    assert load_dataset().name == "tcga5"
    assert (tcga5.n_samples, tcga5.n_genes) == (309, 8000)
    assert Counter(tcga5.labels.tolist()) == COUNTS
    assert all(s.startswith("TCGA-") for s in tcga5.sample_ids)
    assert {"CD19|930", "MLANA|2315", "STAR|6770"} <= set(tcga5.gene_ids)
    assert tcga5.X.dtype == np.float32 and 0.0 <= tcga5.X.min() and tcga5.X.max() < 23.2
    assert tcga5_path().stat().st_size < 10_000_000


def test_sample_types_and_the_tumour_only_variant(tcga5):
    table = pq.read_table(
        tcga5_path(), columns=["sample_id", "cancer_type", "sample_type"]
    ).to_pandas()
    normals = table[table.sample_type == "Solid Tissue Normal"]
    assert len(normals) == 9 and set(normals.cancer_type) == {"CHOL"}
    assert (normals.sample_id.str[13:15] == "11").all()
    tumour = load_dataset("tcga5-tumor")
    assert tumour.n_samples == 300 and not set(normals.sample_id) & set(tumour.sample_ids)
    assert Counter(tumour.labels.tolist())["CHOL"] == 36


def test_genes_are_the_top_8000_by_mad_over_all_samples(tcga5, source):
    varying = source.X.max(0) > source.X.min(0)
    X, genes = source.X[:, varying], source.gene_ids[varying]
    expected = genes[top_variable_genes(X, 8000, "mad")]
    assert list(tcga5.gene_ids) == list(expected)
    assert list(tcga5.sample_ids) == list(source.sample_ids)
    index = {g: i for i, g in enumerate(source.gene_ids)}
    exact = source.X[:, [index[g] for g in tcga5.gene_ids]]
    assert np.abs(tcga5.X - exact).max() <= HALF_ULP_BELOW_32  # float16 rounding, nothing else


def test_float16_keeps_the_training_selection_and_zscores(tcga5, source):
    """float16 rounds each value by at most 2^-6 (values < 32). On the training split, the top-5000
    MAD genes of the embedded file equal those of the float32 source except for genes whose MAD lies
    within 2 x 2^-6 of the cut-off, and the z-scores differ by at most the rounding error over the
    gene's sd (plus the shift of the mean and sd it causes).
    """
    index = {g: i for i, g in enumerate(source.gene_ids)}
    X32 = source.X[:, [index[g] for g in tcga5.gene_ids]]
    train, _ = train_val_split(tcga5.n_samples, tcga5.labels, 0.2, 0)
    spread32 = gene_spread(X32[train])
    top16 = set(top_variable_genes(tcga5.X[train], 5000))
    top32 = set(top_variable_genes(X32[train], 5000))
    cutoff = np.sort(spread32)[::-1][4999]
    differing = np.array(sorted(top16 ^ top32), dtype=int)
    assert len(differing) <= 20
    assert np.all(np.abs(spread32[differing] - cutoff) <= 2 * HALF_ULP_BELOW_32)
    z16 = prepare(tcga5, top_genes=5000, split_seed=0)
    common = sorted(top16 & top32)
    sd = X32[train][:, common].std(axis=0)
    mean = X32[train][:, common].mean(axis=0)
    z32 = (X32[:, common] - mean) / sd
    where = {g: i for i, g in enumerate(z16.gene_ids)}
    cols = [where[g] for g in tcga5.gene_ids[common]]
    z16_train = z16.X_train[:, cols]
    bound = 3 * HALF_ULP_BELOW_32 / sd + 1e-5 * (1 + np.abs(z32[train]).max(axis=0))
    assert np.all(np.abs(z16_train - z32[train]) <= bound)
    assert np.median(np.abs(z16_train - z32[train])) < 2e-3


def test_build_script_rebuilds_the_same_file(tmp_path, tcga_subset_path):
    spec = importlib.util.spec_from_file_location(
        "build_tcga5", tcga5_path().parents[4] / "scripts" / "build_tcga5.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "tcga5.parquet"
    module.build(tcga_subset_path, out)
    rebuilt = pq.read_table(out)
    shipped = pq.read_table(tcga5_path())
    assert rebuilt.equals(shipped)
    assert rebuilt.schema.metadata == shipped.schema.metadata
