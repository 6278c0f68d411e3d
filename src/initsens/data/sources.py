"""Named datasets and the one entry point that loads a name or a file path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import cast

from initsens.data.dataset import Dataset
from initsens.data.files import Orientation, load_matrix
from initsens.data.h5ad import SUFFIX as H5AD
from initsens.data.h5ad import load_h5ad
from initsens.data.missing import DropMissing, Impute
from initsens.data.synthetic import make_synthetic
from initsens.data.tcga5 import load_tcga5
from initsens.data.xena import load_xena_pancan
from initsens.errors import InitsensError
from initsens.registry import Registry

#: Named datasets: each loader is called with keyword arguments impute, drop_missing and cache_dir.
DATASETS: Registry[Callable[..., Dataset]] = Registry("dataset")
DATASETS.register("tcga5")(load_tcga5)
DATASETS.register("tcga5-tumor")(lambda **_: load_tcga5(tumor_only=True))
DATASETS.register("synthetic")(lambda **_: make_synthetic())
DATASETS.register("xena-pancan")(load_xena_pancan)


def load_dataset(
    data: str | Path = "tcga5",
    *,
    labels: str | Path | None = None,
    label_column: str | None = None,
    orientation: Orientation | str = "auto",
    impute: Impute | str | None = None,
    drop_missing: DropMissing | str | None = None,
    cache_dir: Path | None = None,
    layer: str | None = None,
    gene_column: str | None = None,
) -> Dataset:
    """Load a registered dataset by name (``tcga5``, ``synthetic``, ``xena-pancan``, ...), a matrix
    file or an AnnData file (``.h5ad``; ``layer`` and ``gene_column`` apply to it alone).
    """
    if str(data) in DATASETS:
        if (
            labels is not None
            or label_column is not None
            or orientation != "auto"
            or layer
            or gene_column
        ):
            raise InitsensError(
                "--labels, --label-column, --orientation, --layer and --gene-column apply to "
                f"files, not to the named dataset {data!r}"
            )
        return DATASETS.get(str(data))(
            impute=impute, drop_missing=drop_missing, cache_dir=cache_dir
        )
    if not Path(data).exists():
        raise InitsensError(
            f"{data}: no such file and no dataset of that name; give a path or one of: "
            f"{', '.join(DATASETS.names())}"
        )
    if str(data).lower().endswith(H5AD):
        if orientation != "auto":
            raise InitsensError(
                f"{data}: --orientation does not apply to .h5ad files (samples are AnnData's obs, "
                "genes its var); leave it at auto"
            )
        return load_h5ad(
            data,
            layer=layer,
            labels=labels,
            label_column=label_column,
            gene_column=gene_column,
            impute=cast(Impute | None, impute),
            drop_missing=cast(DropMissing | None, drop_missing),
        )
    if layer is not None or gene_column is not None:
        raise InitsensError(f"{data}: --layer and --gene-column apply to .h5ad files only")
    # the strings are checked where they are used (one-line errors naming the valid choices)
    return load_matrix(
        data,
        cast(Orientation, orientation),
        labels,
        label_column,
        cast(Impute | None, impute),
        cast(DropMissing | None, drop_missing),
    )
