"""Expression matrices from AnnData (``.h5ad``, the scverse format scanpy and scvi-tools write).

Samples are AnnData's observations and genes its variables, so there is no orientation to guess. The
values come from ``X`` or from a named layer (raw counts often live in ``layers["counts"]``); a
sparse matrix stays sparse (see :mod:`initsens.data.matrix`). Gene ids are ``var_names`` or a
``var`` column; labels come from an ``obs`` column (found under the usual names, as for files) or
from a phenotype table (``--labels``). ``anndata`` is an optional dependency:
``pip install 'initsens[anndata]'``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import sparse

from initsens.data.dataset import Dataset
from initsens.data.labels import check_labels, find_label_column, join_labels
from initsens.data.matrix import nonfinite_mask
from initsens.data.missing import DropMissing, Impute, check_missing_choice, resolve_missing
from initsens.errors import InitsensError

SUFFIX = ".h5ad"


def _shown(names: list[str], limit: int = 8) -> str:
    return (
        ", ".join(map(repr, names[:limit])) + (", ..." if len(names) > limit else "")
        if names
        else "none"
    )


def _read(
    path: Path,
):  # -> anndata.AnnData (anndata is optional, so not imported for the annotation)
    try:
        import anndata
    except ImportError:
        raise InitsensError(
            f"{path}: reading .h5ad files needs the anndata package; install it with "
            "pip install 'initsens[anndata]'"
        ) from None
    try:
        return anndata.read_h5ad(path)
    except Exception as error:  # h5py, anndata and OS errors alike: the file is not what it says
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InitsensError(
            f"{path}: not a readable .h5ad file ({reason}); write it with AnnData.write_h5ad "
            "or pass a CSV/TSV/Parquet matrix"
        ) from None


def _values(adata, layer: str | None, path: Path):
    """``X`` or the named layer, as float32 (CSR when sparse)."""
    if layer is not None:
        if layer not in adata.layers:
            raise InitsensError(
                f"{path}: no layer {layer!r} for --layer (layers: {_shown(list(adata.layers))})"
            )
        X, where = adata.layers[layer], f"layer {layer!r}"
    else:
        X, where = adata.X, "X"
        if X is None:
            raise InitsensError(
                f"{path}: X is empty; name a layer with --layer (layers: "
                f"{_shown(list(adata.layers))})"
            )
    if sparse.issparse(X):
        return sparse.csr_matrix(X, dtype=np.float32), where
    values = np.asarray(X)
    if not np.issubdtype(values.dtype, np.number):
        raise InitsensError(f"{path}: {where} holds {values.dtype} values, not numbers")
    return values.astype(np.float32, copy=False), where


def _gene_ids(adata, gene_column: str | None, path: Path) -> np.ndarray:
    if gene_column is None:
        return np.asarray(adata.var_names, dtype=str)
    if gene_column not in adata.var.columns:
        raise InitsensError(
            f"{path}: no var column {gene_column!r} for --gene-column "
            f"(var columns: {_shown(list(adata.var.columns))})"
        )
    genes = adata.var[gene_column]
    if genes.isna().any():
        raise InitsensError(
            f"{path}: var column {gene_column!r} has {int(genes.isna().sum())} empty gene id(s); "
            "fill them or use var_names"
        )
    return genes.astype(str).to_numpy()


def _resolve_sparse_missing(
    X: sparse.csr_matrix,
    sample_ids: np.ndarray,
    gene_ids: np.ndarray,
    impute: Impute | None,
    drop_missing: DropMissing | None,
    source: str,
):
    """:func:`resolve_missing` for a sparse matrix: made dense only when it has NaN/inf values to
    treat.
    """
    check_missing_choice(impute, drop_missing)
    if (impute is None and drop_missing is None) or not nonfinite_mask(X).nnz:
        return X, sample_ids, gene_ids
    return resolve_missing(X.toarray(), sample_ids, gene_ids, impute, drop_missing, source)


def load_h5ad(
    path: str | Path,
    *,
    layer: str | None = None,
    labels: str | Path | None = None,
    label_column: str | None = None,
    gene_column: str | None = None,
    impute: Impute | None = None,
    drop_missing: DropMissing | None = None,
) -> Dataset:
    """Load an AnnData file as a :class:`Dataset` (see the module docstring)."""
    path = Path(path)
    adata = _read(path)
    source = str(path)
    X, where = _values(adata, layer, path)
    sample_ids = np.asarray(adata.obs_names, dtype=str)
    gene_ids = _gene_ids(adata, gene_column, path)
    if sparse.issparse(X):
        X, kept, gene_ids = _resolve_sparse_missing(
            X, sample_ids, gene_ids, impute, drop_missing, source
        )
    else:
        X, kept, gene_ids = resolve_missing(X, sample_ids, gene_ids, impute, drop_missing, source)
    label_values: np.ndarray | None
    if labels is not None:
        label_values = join_labels(kept, labels, label_column, source)
    else:
        try:
            column = find_label_column(adata.obs.columns.astype(str), label_column, f"{source} obs")
        except InitsensError:
            raise InitsensError(
                f"{source}: no obs column {label_column!r} for --label-column "
                f"(obs columns: {_shown(list(adata.obs.columns.astype(str)))})"
            ) from None
        label_values = (
            None
            if column is None
            else check_labels(
                adata.obs[column].astype(object),
                sample_ids,
                source,
                f"in obs column {column!r}",
                "label them or subset the AnnData first",
            )[np.isin(sample_ids, kept)]
        )
    name = source if where == "X" else f"{source} ({where})"
    return Dataset(X, kept, gene_ids, label_values, name=name)
