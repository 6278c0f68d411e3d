"""From a loaded dataset to model-ready arrays: split, select genes, normalize (train-fitted)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from initsens.data.dataset import Dataset
from initsens.data.genes import top_variable_genes
from initsens.data.normalize import Normalizer, check_normalization, make_normalizer
from initsens.data.split import train_val_split


@dataclass(frozen=True, eq=False)
class PreparedData:
    """Normalized float32 training and validation matrices over the selected genes, with provenance."""

    X_train: np.ndarray
    X_val: np.ndarray
    train_ids: np.ndarray
    val_ids: np.ndarray
    gene_ids: np.ndarray
    labels_train: np.ndarray | None
    labels_val: np.ndarray | None
    normalization: str
    normalizer: Normalizer
    split_seed: int
    dataset: str
    dataset_sha256: str

    @property
    def n_genes(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_train(self) -> int:
        return self.X_train.shape[0]

    @property
    def n_val(self) -> int:
        return self.X_val.shape[0]


def prepare(
    dataset: Dataset,
    top_genes: int | None = 5000,
    gene_selection: str = "mad",
    normalization: str = "zscore",
    val_fraction: float = 0.2,
    split_seed: int = 0,
) -> PreparedData:
    """Split (stratified when labelled), keep the top genes and normalize, fitting both on training only.

    Gene selection and normalization parameters see the training split alone, so nothing about the
    validation samples leaks into the model's input.
    """
    check_normalization(normalization)
    train, val = train_val_split(dataset.n_samples, dataset.labels, val_fraction, split_seed)
    genes = top_variable_genes(dataset.X[train], top_genes, gene_selection)
    X_train = dataset.X[np.ix_(train, genes)]
    normalizer = make_normalizer(normalization).fit(X_train)
    labels = dataset.labels
    return PreparedData(
        X_train=normalizer.transform(X_train),
        X_val=normalizer.transform(dataset.X[np.ix_(val, genes)]),
        train_ids=dataset.sample_ids[train],
        val_ids=dataset.sample_ids[val],
        gene_ids=dataset.gene_ids[genes],
        labels_train=None if labels is None else labels[train],
        labels_val=None if labels is None else labels[val],
        normalization=normalization,
        normalizer=normalizer,
        split_seed=split_seed,
        dataset=dataset.name,
        dataset_sha256=dataset.sha256,
    )
