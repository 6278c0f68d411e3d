"""A deterministic TCGA-like expression generator, the default dataset (no download needed).

Values are on the scale of the UCSC Xena TCGA matrices, log2(RSEM + 1), with the structure a VAE
study needs (the docs' :doc:`Bring your own data </guide/data>` page lists it).
"""

from __future__ import annotations

import numpy as np

from initsens.data.dataset import Dataset
from initsens.errors import InitsensError

MAX_LOG2 = 23.0


def _class_sizes(n_samples: int, n_types: int, rng: np.random.Generator) -> np.ndarray:
    """Unequal class sizes that sum to n_samples, at least 2 per class (stratified splits need
    2).
    """
    props = rng.dirichlet(np.full(n_types, 6.0))
    sizes = np.maximum(2, np.floor(props * n_samples).astype(int))
    while sizes.sum() > n_samples:
        sizes[np.argmax(sizes)] -= 1
    sizes[np.argsort(-props)[: n_samples - sizes.sum()]] += 1
    return sizes


def make_synthetic(
    n_samples: int = 1000,
    n_genes: int = 6000,
    n_types: int = 5,
    n_modules: int = 20,
    seed: int = 0,
) -> Dataset:
    """Generate the ``synthetic`` dataset: ``n_samples`` x ``n_genes`` log2(x+1) values and type
    labels.
    """
    if n_types < 1 or n_samples < 2 * n_types or n_genes < 1 or n_modules < 1:
        raise InitsensError(
            f"synthetic data needs n_types >= 1, n_samples >= 2 * n_types, n_genes >= 1 and "
            f"n_modules >= 1 (got {n_samples=}, {n_genes=}, {n_types=}, {n_modules=})"
        )
    rng = np.random.default_rng(seed)
    sizes = _class_sizes(n_samples, n_types, rng)
    labels = rng.permutation(np.repeat(np.arange(n_types), sizes))

    baseline = rng.normal(7.0, 2.5, n_genes)
    low = rng.random(n_genes) < 0.15
    baseline[low] = rng.normal(1.0, 0.7, low.sum())
    noise_sd = rng.lognormal(np.log(0.5), 0.6, n_genes)
    type_shift = (rng.random((n_types, n_genes)) < 0.08) * rng.normal(0.0, 1.5, (n_types, n_genes))

    loadings = np.zeros((n_genes, n_modules))
    members = np.flatnonzero(rng.random(n_genes) < 0.5)
    loadings[members, rng.integers(0, n_modules, members.size)] = rng.normal(0.0, 0.8, members.size)
    factor_means = rng.normal(0.0, 1.0, (n_types, n_modules))
    factors = factor_means[labels] + rng.standard_normal((n_samples, n_modules))

    log2_raw = (factors @ loadings.T).astype(np.float32)
    log2_raw += (baseline + type_shift[labels]).astype(np.float32)
    log2_raw += rng.standard_t(5, (n_samples, n_genes)).astype(np.float32) * noise_sd.astype(
        np.float32
    )
    np.clip(log2_raw, None, MAX_LOG2, out=log2_raw)  # RSEM values saturate near 2**23
    dropout = rng.random((n_samples, n_genes), dtype=np.float32) < 1.0 / (
        1.0 + np.exp2(4.3 * (log2_raw - 0.5))
    )
    raw = np.exp2(log2_raw)
    raw[dropout] = 0.0
    values = np.log2(raw + 1.0)

    width = len(str(n_samples))
    type_names = np.array([f"T{t + 1}" for t in range(n_types)])
    return Dataset(
        X=values,
        sample_ids=np.array([f"SYN-{type_names[c]}-{i:0{width}d}" for i, c in enumerate(labels)]),
        gene_ids=np.array([f"G{g:05d}" for g in range(n_genes)]),
        labels=type_names[labels],
        name="synthetic",
    )
