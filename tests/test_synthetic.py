"""The embedded synthetic dataset: deterministic, TCGA-like, and fast."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from initsens.data import load_dataset, make_synthetic
from initsens.errors import InitsensError


@pytest.fixture(scope="module")
def synthetic():
    return load_dataset("synthetic")


def test_default_shape_labels_and_scale(synthetic):
    assert (synthetic.n_samples, synthetic.n_genes) == (1000, 6000)
    counts = Counter(synthetic.labels.tolist())
    assert sorted(counts) == ["T1", "T2", "T3", "T4", "T5"]
    assert len(set(counts.values())) > 1  # unequal class sizes
    assert synthetic.X.dtype == np.float32
    assert 0.0 <= synthetic.X.min() and synthetic.X.max() <= 23.0  # log2(RSEM + 1) scale
    assert 4.0 < synthetic.X.mean() < 8.0
    assert 0.01 < (synthetic.X == 0).mean() < 0.2  # dropout zeros in lowly expressed genes


def test_deterministic_and_seeded(synthetic):
    assert make_synthetic().sha256 == synthetic.sha256
    other = make_synthetic(seed=1)
    assert other.sha256 != synthetic.sha256


def test_structure(synthetic):
    X = synthetic.X.astype(np.float64)
    sd = X.std(axis=0)
    assert np.percentile(sd, 95) / np.percentile(sd, 5) > 5  # gene variances differ widely
    # cancer types differ in mean expression: a one-way ANOVA per gene finds many differential genes
    groups = [X[synthetic.labels == t] for t in synthetic.classes]
    p = stats.f_oneway(*groups, axis=0).pvalue
    assert (p < 1e-6).mean() > 0.05
    # low-rank modules: the top principal components explain far more than in shuffled data
    Z = (X - X.mean(0)) / np.where(sd > 0, sd, 1)
    top = np.linalg.svd(Z, compute_uv=False)[:20] ** 2
    assert top.sum() / (Z**2).sum() > 0.15
    # heavy tails: positive excess kurtosis of within-type residuals in the well-expressed genes
    resid = np.concatenate([g - g.mean(0) for g in groups])
    expressed = X.mean(0) > 5
    assert np.median(stats.kurtosis(resid[:, expressed], axis=0)) > 0.3


def test_bad_sizes():
    with pytest.raises(InitsensError, match="n_samples >= 2 \\* n_types"):
        make_synthetic(n_samples=5, n_types=5)
