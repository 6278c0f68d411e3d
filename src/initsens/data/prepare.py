"""From a loaded dataset to model-ready arrays: transform per sample, split, select genes,
normalize.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from initsens.data.dataset import Dataset
from initsens.data.genes import top_variable_genes
from initsens.data.matrix import dense_block
from initsens.data.normalize import Normalizer, check_normalization, make_normalizer
from initsens.data.split import train_val_split
from initsens.data.transform import apply_transform, resolve_transform
from initsens.errors import InitsensError


@dataclass(frozen=True)
class DataInfo:
    """What a run's record says about its data, without the matrices (small enough to send between
    machines).
    """

    dataset: str
    dataset_sha256: str
    transform: str
    n_genes: int
    n_train: int
    n_val: int


@dataclass(frozen=True, eq=False)
class PreparedData:
    """Normalized float32 training and validation matrices over the selected genes, with
    provenance.
    """

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
    transform: str = "none"
    fit_on: str = "train"

    def info(self) -> DataInfo:
        """What a run's record needs of the data (no matrices)."""
        return DataInfo(
            self.dataset,
            self.dataset_sha256,
            self.transform,
            self.n_genes,
            self.n_train,
            self.n_val,
        )

    @property
    def X_all(self) -> np.ndarray:
        """Training and validation samples together (e.g. for clustering every sample)."""
        return np.concatenate([self.X_train, self.X_val])

    @property
    def labels_all(self) -> np.ndarray | None:
        """Training then validation labels (None without labels)."""
        return (
            None
            if self.labels_train is None
            else np.concatenate([self.labels_train, self.labels_val])
        )

    @property
    def n_genes(self) -> int:
        """Number of selected genes."""
        return self.X_train.shape[1]

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return self.X_train.shape[0]

    @property
    def n_val(self) -> int:
        """Number of validation samples."""
        return self.X_val.shape[0]


def prepare(
    dataset: Dataset,
    *,
    top_genes: int | None = 5000,
    gene_selection: str = "mad",
    normalization: str = "zscore",
    val_fraction: float = 0.2,
    split_seed: int = 0,
    transform: str = "auto",
    fit_on: str = "train",
    stratify: bool = True,
) -> PreparedData:
    """Transform per sample, split (stratified when labelled), keep the top genes and normalize.

    ``transform`` (see :mod:`initsens.data.transform`) works on each sample alone, before gene
    selection. With ``fit_on='train'`` (default) gene selection and normalization parameters see the
    training split alone, so nothing about the validation samples leaks into the model's input;
    ``fit_on='all'`` fits them on every sample, as the original study's code did.
    """
    check_normalization(normalization)
    if fit_on not in ("train", "all"):
        raise InitsensError(f"unknown --fit-on {fit_on!r}; choose one of: train, all")
    resolved = resolve_transform(dataset.X, transform)
    X = apply_transform(dataset.X, resolved, dataset.name)
    labels = dataset.labels
    train, val = train_val_split(
        dataset.n_samples, labels if stratify else None, val_fraction, split_seed
    )
    fit_rows = train if fit_on == "train" else np.arange(dataset.n_samples)
    genes = top_variable_genes(X[fit_rows], top_genes, gene_selection)
    normalizer = make_normalizer(normalization).fit(dense_block(X, fit_rows, genes))
    return PreparedData(
        X_train=normalizer.transform(dense_block(X, train, genes)),
        X_val=normalizer.transform(dense_block(X, val, genes)),
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
        transform=resolved,
        fit_on=fit_on,
    )
