"""Cancer-type labels: find the label column, or join a separate phenotype table on sample id."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from initsens.data.tables import read_table
from initsens.errors import InitsensError

#: Column names recognised as cancer-type (or cell-type) labels without being named (first match
#: wins). ``cancer type abbreviation`` is the column of Xena's TCGA Pan-Cancer phenotype table.
LABEL_COLUMNS = (
    "cancer type abbreviation",
    "cancer_type_abbreviation",
    "cancer_type",
    "cancer type",
    "label",
    "labels",
    "cell_type",
    "cell type",
)


def find_label_column(columns: Iterable[str], label_column: str | None, source: str) -> str | None:
    """The named label column (which must exist), else the first recognised one, else None."""
    columns = list(columns)
    if label_column is not None:
        if label_column not in columns:
            shown = ", ".join(map(repr, columns[:8])) + (", ..." if len(columns) > 8 else "")
            raise InitsensError(
                f"{source}: no column {label_column!r} for --label-column (columns: {shown})"
            )
        return label_column
    lowered = {c.lower(): c for c in columns}
    return next((lowered[name] for name in LABEL_COLUMNS if name in lowered), None)


def check_labels(
    labels: pd.Series, sample_ids: np.ndarray, source: str, where: str, fix: str
) -> np.ndarray:
    """Labels as strings; samples without one are an error that names them, ``where`` and the
    ``fix``.
    """
    missing = labels.isna().to_numpy()
    if missing.any():
        examples = ", ".join(sample_ids[missing][:3])
        raise InitsensError(
            f"{source}: {int(missing.sum())} of {len(labels)} samples {where} have no label "
            f"(e.g. {examples}); {fix}"
        )
    return labels.astype(str).to_numpy()


def join_labels(
    sample_ids: np.ndarray, labels_path: str | Path, label_column: str | None, matrix_source: str
) -> np.ndarray:
    """Labels for ``sample_ids`` from a phenotype table whose first column holds sample ids."""
    pheno = read_table(labels_path)
    source = str(labels_path)
    id_column = pheno.columns[0]
    column = find_label_column(pheno.columns[1:], label_column, source)
    if column is None:
        shown = ", ".join(map(repr, pheno.columns[1:9]))
        raise InitsensError(
            f"{source}: no cancer-type column found; name one with --label-column (columns: "
            f"{shown})"
        )
    table = pheno[[id_column, column]].dropna().drop_duplicates()
    table[id_column] = table[id_column].astype(str)
    conflicting = table[id_column][table[id_column].duplicated()]
    if len(conflicting):
        raise InitsensError(
            f"{source}: sample {conflicting.iloc[0]!r} has more than one label in column {column!r}"
        )
    mapped = pd.Series(sample_ids).map(table.set_index(id_column)[column])
    return check_labels(
        mapped,
        sample_ids,
        source,
        f"in {matrix_source}",
        "the first column of the phenotype table must hold the same sample ids as the matrix",
    )
