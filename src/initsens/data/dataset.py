"""The in-memory dataset: an expression matrix with sample ids, gene ids and optional labels."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from initsens.data.matrix import Matrix, as_matrix, nonfinite_mask, row_blocks
from initsens.data.missing import describe_missing
from initsens.errors import InitsensError


def _first_duplicates(ids: np.ndarray, limit: int = 3) -> tuple[int, list[str]]:
    """Number of duplicated ids and the first few of them, in order of appearance."""
    seen: set[str] = set()
    dupes: list[str] = []
    for value in ids:
        if value in seen and value not in dupes:
            dupes.append(str(value))
        seen.add(value)
    n_dupes = len(ids) - len(seen)
    return n_dupes, dupes[:limit]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples x genes float32 expression with ids, validated on construction.

    ``X`` is dense, or sparse CSR for data that arrive sparse (AnnData counts); it stays sparse
    until the selected genes are taken out (:func:`initsens.data.prepare.prepare`).

    ``labels`` (cancer type per sample) is optional. ``name`` says where the data came from
    (a registered dataset name or a file path) and appears in every error message.
    """

    X: Matrix
    sample_ids: np.ndarray
    gene_ids: np.ndarray
    labels: np.ndarray | None = None
    name: str = "dataset"

    def __post_init__(self) -> None:
        X = as_matrix(self.X)
        object.__setattr__(self, "X", X)
        object.__setattr__(
            self, "sample_ids", np.asarray(self.sample_ids, dtype=object).astype(str)
        )
        object.__setattr__(self, "gene_ids", np.asarray(self.gene_ids, dtype=object).astype(str))
        if X.ndim != 2:
            raise InitsensError(f"{self.name}: expression must be a 2-D samples x genes matrix")
        if X.shape != (len(self.sample_ids), len(self.gene_ids)):
            raise InitsensError(
                f"{self.name}: matrix is {X.shape[0]} x {X.shape[1]} but there are "
                f"{len(self.sample_ids)} sample ids and {len(self.gene_ids)} gene ids"
            )
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise InitsensError(f"{self.name}: no data ({X.shape[0]} samples x {X.shape[1]} genes)")
        for what, ids in (("sample", self.sample_ids), ("gene", self.gene_ids)):
            n_dupes, examples = _first_duplicates(ids)
            if n_dupes:
                raise InitsensError(
                    f"{self.name}: {n_dupes} duplicated {what} id(s), e.g. "
                    f"{', '.join(map(repr, examples))}; make {what} ids unique"
                )
        if self.labels is not None:
            labels = np.asarray(self.labels, dtype=object).astype(str)
            if len(labels) != X.shape[0]:
                raise InitsensError(f"{self.name}: {len(labels)} labels for {X.shape[0]} samples")
            object.__setattr__(self, "labels", labels)
        bad = nonfinite_mask(X)
        if bad.sum():
            raise InitsensError(
                f"{self.name}: {describe_missing(bad, self.sample_ids, self.gene_ids)}; "
                "rerun with --impute mean|zero or --drop-missing genes|samples"
            )

    @property
    def n_samples(self) -> int:
        """Number of samples (rows)."""
        return self.X.shape[0]

    @property
    def n_genes(self) -> int:
        """Number of genes (columns)."""
        return self.X.shape[1]

    @property
    def classes(self) -> list[str]:
        """Sorted distinct labels (empty without labels)."""
        return [] if self.labels is None else sorted(set(self.labels.tolist()))

    @cached_property
    def sha256(self) -> str:
        """Content hash of values, ids and labels: the same data gives the same hash whatever the
        file format.
        """
        h = hashlib.sha256()
        for block in row_blocks(
            self.X
        ):  # dense row blocks: a sparse matrix hashes as its dense equal does
            h.update(np.ascontiguousarray(block).tobytes())
        labels = self.labels if self.labels is not None else np.array([], dtype=str)
        for ids in (self.sample_ids, self.gene_ids, labels):
            h.update("\x1f".join(ids).encode())
            h.update(b"\x1e")
        return h.hexdigest()

    def renamed(self, name: str) -> Dataset:
        """The same data under another name (the one error messages and run records show)."""
        return Dataset(self.X, self.sample_ids, self.gene_ids, self.labels, name)

    def select_samples(self, mask: np.ndarray) -> Dataset:
        """A new dataset with the samples where ``mask`` is true (boolean mask or index array)."""
        return Dataset(
            self.X[mask],
            self.sample_ids[mask],
            self.gene_ids,
            None if self.labels is None else self.labels[mask],
            self.name,
        )
