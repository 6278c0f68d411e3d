"""Gene selection, normalization and splitting, checked against scipy/scikit-learn references."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from initsens.data import Dataset, make_synthetic, prepare, top_variable_genes, train_val_split
from initsens.data.normalize import NORMALIZERS, make_normalizer
from initsens.errors import InitsensError


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_samples=200, n_genes=400, n_types=4, seed=3)


def test_mad_selection_matches_scipy(data):
    mad = stats.median_abs_deviation(data.X, axis=0)
    expected = np.sort(np.argsort(-mad, kind="stable")[:50])
    np.testing.assert_array_equal(top_variable_genes(data.X, 50), expected)
    var_expected = np.sort(np.argsort(-data.X.astype(np.float64).var(0), kind="stable")[:50])
    np.testing.assert_array_equal(top_variable_genes(data.X, 50, "variance"), var_expected)
    assert top_variable_genes(data.X, 0).size == 400


def test_selection_ties_are_deterministic_and_errors():
    X = np.tile(np.array([[0.0], [1.0], [2.0]], dtype=np.float32), (1, 5))
    np.testing.assert_array_equal(top_variable_genes(X, 2), [0, 1])
    with pytest.raises(
        InitsensError, match="--top-genes 6 asks for more genes than the data has \\(5\\)"
    ):
        top_variable_genes(X, 6)
    with pytest.raises(InitsensError, match="unknown gene selection 'iqr'"):
        top_variable_genes(X, 2, "iqr")


@pytest.mark.parametrize(
    "name,reference",
    [
        ("zscore", lambda tr, X: StandardScaler().fit(tr).transform(X)),
        ("minmax", lambda tr, X: MinMaxScaler().fit(tr).transform(X)),
        (
            "log_zscore",
            lambda tr, X: StandardScaler().fit(np.log2(tr + 1)).transform(np.log2(X + 1)),
        ),
        ("none", lambda tr, X: X),
    ],
)
def test_normalizers_match_sklearn_and_use_training_only(data, name, reference):
    train, val = data.X[:150].astype(np.float64), data.X[150:].astype(np.float64)
    norm = make_normalizer(name).fit(data.X[:150])
    for X in (train, val):
        np.testing.assert_allclose(
            norm.transform(X.astype(np.float32)), reference(train, X), rtol=1e-4, atol=1e-4
        )


def test_constant_genes_never_give_nan():
    X = np.zeros((10, 3), dtype=np.float32)
    X[:, 1] = 7.0
    X[:, 2] = np.arange(10)
    for name in NORMALIZERS.names():
        out = make_normalizer(name).fit_transform(X)
        assert np.isfinite(out).all(), name
        if name != "none":
            assert (out[:, :2] == 0).all(), name


def test_log_zscore_rejects_negative_values():
    with pytest.raises(
        InitsensError, match="log_zscore needs non-negative values but the data go down to -1"
    ):
        make_normalizer("log_zscore").fit(np.array([[-1.0], [2.0]], dtype=np.float32))


def test_stratified_split_is_reproducible_and_proportional(data):
    train, val = train_val_split(data.n_samples, data.labels, 0.2, seed=4)
    assert len(val) == 40 and len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 200
    np.testing.assert_array_equal(val, train_val_split(data.n_samples, data.labels, 0.2, seed=4)[1])
    assert not np.array_equal(val, train_val_split(data.n_samples, data.labels, 0.2, seed=5)[1])
    total, in_val = Counter(data.labels), Counter(data.labels[val])
    for label, count in total.items():
        assert abs(in_val[label] - 0.2 * count) <= 1  # each type split 80/20 to within rounding


def test_split_errors():
    labels = np.array(["A"] * 5 + ["B"])
    with pytest.raises(
        InitsensError, match="too few samples per cancer type for a stratified split: 'B' \\(1\\)"
    ):
        train_val_split(6, labels)
    with pytest.raises(InitsensError, match="validation fraction must be between 0 and 1"):
        train_val_split(6, None, 1.5)
    with pytest.raises(InitsensError, match="cannot be split"):
        train_val_split(2, None, 0.1)


def test_prepare_fits_on_training_split_only(data):
    prepared = prepare(data, top_genes=100, normalization="zscore", split_seed=1)
    assert (prepared.n_train, prepared.n_val, prepared.n_genes) == (160, 40, 100)
    np.testing.assert_allclose(prepared.X_train.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(prepared.X_train.std(0), 1, rtol=1e-4)
    assert np.abs(prepared.X_val.mean(0)).max() > 1e-3  # validation is not re-centred on itself
    train_idx, _ = train_val_split(data.n_samples, data.labels, 0.2, 1)
    expected_genes = data.gene_ids[top_variable_genes(data.X[train_idx], 100)]
    np.testing.assert_array_equal(prepared.gene_ids, expected_genes)
    assert prepared.X_train.dtype == np.float32 and prepared.dataset_sha256 == data.sha256
    with pytest.raises(
        InitsensError, match="unknown normalization 'quantile'; choose one of: zscore, minmax"
    ):
        prepare(data, normalization="quantile")


def test_unlabelled_data_splits_without_stratification():
    rng = np.random.default_rng(0)
    ds = Dataset(
        rng.normal(size=(20, 8)).astype(np.float32),
        [f"s{i}" for i in range(20)],
        [f"g{i}" for i in range(8)],
    )
    prepared = prepare(ds, top_genes=4)
    assert prepared.labels_train is None and (prepared.n_train, prepared.n_val) == (16, 4)
