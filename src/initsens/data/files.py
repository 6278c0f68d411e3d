"""Expression matrices from files, in either orientation, with labels from a column or a phenotype
table.

The first column always holds ids; samples x genes or genes x samples (UCSC Xena style) is detected,
or set with ``orientation``. The layouts and how they are told apart: the docs'
:doc:`Bring your own data </guide/data>` page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from initsens.data.dataset import Dataset
from initsens.data.labels import check_labels, find_label_column, join_labels
from initsens.data.missing import DropMissing, Impute, resolve_missing
from initsens.data.tables import read_table
from initsens.errors import InitsensError

Orientation = Literal["auto", "samples-x-genes", "genes-x-samples"]
ORIENTATIONS = ("auto", "samples-x-genes", "genes-x-samples")
_BARCODE = re.compile(r"^TCGA-[A-Z0-9]{2}-[A-Z0-9]{4}", re.IGNORECASE)


def _barcode_share(values: pd.Index | pd.Series) -> float:
    sample = [str(v) for v in list(values)[:200]]
    return sum(bool(_BARCODE.match(v)) for v in sample) / max(len(sample), 1)


def detect_orientation(frame: pd.DataFrame, has_label_column: bool) -> Orientation:
    """Guess the layout of a table whose first column holds ids (see module docstring)."""
    if has_label_column:
        return "samples-x-genes"
    if _barcode_share(frame.columns[1:]) > 0.5:
        return "genes-x-samples"
    if _barcode_share(frame.iloc[:, 0]) > 0.5:
        return "samples-x-genes"
    return "samples-x-genes" if frame.shape[1] - 1 >= frame.shape[0] else "genes-x-samples"


def _numeric_values(block: pd.DataFrame, row_ids: np.ndarray, source: str, rows: str) -> np.ndarray:
    """The block as float32; a non-numeric cell is an error naming its column, row and value."""
    for column in [
        c for c, dtype in block.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)
    ]:
        converted = pd.to_numeric(block[column], errors="coerce")
        bad = converted.isna() & block[column].notna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InitsensError(
                f"{source}: non-numeric value {block[column].iloc[i]!r} in column {column!r}, "
                f"{rows} {str(row_ids[i])!r} ({int(bad.sum())} such cell(s) in that column); fix "
                "the value, or if this column holds labels pass --label-column"
            )
        block[column] = converted
    return block.to_numpy(dtype=np.float32)


def load_matrix(
    matrix: str | Path | pd.DataFrame,
    orientation: Orientation = "auto",
    labels: str | Path | None = None,
    label_column: str | None = None,
    impute: Impute | None = None,
    drop_missing: DropMissing | None = None,
) -> Dataset:
    """Load an expression matrix (a CSV/TSV[.gz] or Parquet file, or a DataFrame) as a
    :class:`Dataset`.

    The first column holds ids; see the module docstring for the layouts and labels.
    """
    if isinstance(matrix, pd.DataFrame):
        frame, source = (
            matrix.reset_index(drop=isinstance(matrix.index, pd.RangeIndex)),
            "DataFrame",
        )
        frame.columns = [str(c) for c in frame.columns]
    else:
        frame, source = read_table(matrix), str(matrix)
    if orientation not in ORIENTATIONS:
        raise InitsensError(
            f"unknown orientation {orientation!r}; choose one of: {', '.join(ORIENTATIONS)}"
        )
    id_column = frame.columns[0]
    if pd.api.types.is_numeric_dtype(frame[id_column]):
        raise InitsensError(
            f"{source}: the first column {id_column!r} holds numbers; it must hold sample ids "
            "(samples x genes) or gene ids (genes x samples)"
        )
    ids = frame[id_column].astype(str).to_numpy()
    inline_label = (
        None if labels is not None else find_label_column(frame.columns[1:], label_column, source)
    )
    if orientation == "auto":
        orientation = detect_orientation(frame, inline_label is not None)
    if inline_label is not None and orientation == "genes-x-samples":
        raise InitsensError(
            f"{source}: a label column ({inline_label!r}) only fits a samples x genes table; "
            "for genes x samples give the labels in a phenotype table with --labels"
        )

    value_columns = [c for c in frame.columns[1:] if c != inline_label]
    X = _numeric_values(
        frame[value_columns].copy(),
        ids,
        source,
        "sample" if orientation == "samples-x-genes" else "gene",
    )
    if orientation == "samples-x-genes":
        sample_ids, gene_ids = ids, np.asarray(value_columns, dtype=str)
    else:
        sample_ids, gene_ids, X = np.asarray(value_columns, dtype=str), ids, X.T
    label_values = (
        check_labels(
            frame[inline_label],
            sample_ids,
            source,
            f"in column {inline_label!r}",
            "add their labels or remove those samples",
        )
        if inline_label is not None
        else None
    )
    X, kept_samples, gene_ids = resolve_missing(
        X, sample_ids, gene_ids, impute, drop_missing, source
    )
    if label_values is not None and len(kept_samples) != len(sample_ids):
        label_values = label_values[np.isin(sample_ids, kept_samples)]
    if labels is not None:
        label_values = join_labels(kept_samples, labels, label_column, source)
    return Dataset(X, kept_samples, gene_ids, label_values, name=source)
