"""UCSC Xena TCGA Pan-Cancer: download, process once, cache as Parquet.

The matrix the original study used (EB++ RSEM, log2(x+1)) with cancer types from the TCGA-CDR
phenotype table; missing values are kept, so loading needs ``--impute`` or ``--drop-missing`` (the
docs' :doc:`Bring your own data </guide/data>` page).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd
import platformdirs

from initsens.atomic import atomic_path, write_json
from initsens.data.dataset import Dataset
from initsens.data.download import DownloadRecord, download, sha256_file
from initsens.data.files import load_matrix
from initsens.data.labels import find_label_column
from initsens.data.missing import DropMissing, Impute
from initsens.data.tables import read_table
from initsens.errors import InitsensError

HUB_URL = "https://tcga-pancan-atlas-hub.s3.us-east-1.amazonaws.com/download/"
MATRIX_FILE = "EB++AdjustPANCAN_IlluminaHiSeq_RNASeqV2.geneExp.xena.gz"
PHENOTYPE_FILE = "Survival_SupplementalTable_S1_20171025_xena_sp"
PROCESSED_FILE = "xena-pancan.parquet"
MANIFEST_FILE = "manifest.json"


def default_cache_dir() -> Path:
    """The per-user cache folder for this dataset (e.g. ~/.cache/initsens/xena-pancan on Linux)."""
    return Path(platformdirs.user_cache_dir("initsens")) / "xena-pancan"


@dataclass(frozen=True)
class FetchResult:
    """Outcome of :func:`fetch_xena_pancan`: the processed file and what processing did."""

    path: Path
    n_samples: int
    n_genes: int
    n_missing_values: int
    n_unlabeled_dropped: int
    n_genes_renamed: int
    downloads: tuple[DownloadRecord, ...]


def _unique(names: pd.Series) -> tuple[np.ndarray, int]:
    """Make repeated names unique by suffixing .1, .2, ... to their later occurrences."""
    counts = names.groupby(names).cumcount()
    renamed = np.where(counts > 0, names + "." + counts.astype(str), names)
    return renamed.astype(str), int((counts > 0).sum())


def process(matrix_path: Path, phenotype_path: Path, dest: Path) -> FetchResult:
    """Turn the raw Xena files into the cached samples x genes Parquet file (atomically)."""
    matrix = read_table(matrix_path)
    pheno = read_table(phenotype_path)
    label_column = find_label_column(pheno.columns[1:], None, str(phenotype_path))
    if label_column is None:
        raise InitsensError(f"{phenotype_path}: no 'cancer type abbreviation' column")
    cancer_type = (
        pheno.dropna(subset=[label_column])
        .drop_duplicates(subset=[pheno.columns[0]])
        .set_index(pheno.columns[0])[label_column]
        .astype(str)
    )
    gene_ids, n_renamed = _unique(matrix.iloc[:, 0].astype(str))
    samples = [s for s in matrix.columns[1:] if s in cancer_type.index]
    values = matrix[samples].apply(pd.to_numeric, errors="coerce").to_numpy(np.float32).T
    frame = pd.DataFrame(values, columns=gene_ids)
    frame.insert(0, "cancer_type", cancer_type.loc[samples].to_numpy())
    frame.insert(0, "sample_id", samples)
    with atomic_path(dest) as tmp:
        frame.to_parquet(tmp, index=False, compression="zstd")
    return FetchResult(
        path=dest,
        n_samples=len(samples),
        n_genes=len(gene_ids),
        n_missing_values=int(np.isnan(values).sum()),
        n_unlabeled_dropped=matrix.shape[1] - 1 - len(samples),
        n_genes_renamed=n_renamed,
        downloads=(),
    )


def fetch_xena_pancan(
    cache_dir: Path | None = None,
    base_url: str = HUB_URL,
    force: bool = False,
    progress: bool = True,
) -> FetchResult:
    """Download (resumably) the Pan-Cancer matrix and phenotype table, process and cache them.

    Files already complete in ``cache_dir`` are not downloaded again unless ``force``. A
    ``manifest.json`` beside them records each file's URL, size and sha256.
    """
    cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    records = []
    for name in (MATRIX_FILE, PHENOTYPE_FILE):
        dest = cache_dir / name
        if dest.exists() and not force:
            records.append(
                DownloadRecord(
                    base_url + quote(name),
                    str(dest),
                    dest.stat().st_size,
                    sha256_file(dest),
                    "earlier",
                )
            )
            continue
        if force:
            dest.unlink(missing_ok=True)
            dest.with_name(dest.name + ".part").unlink(missing_ok=True)
        records.append(download(base_url + quote(name), dest, progress=progress))
    result = process(
        cache_dir / MATRIX_FILE, cache_dir / PHENOTYPE_FILE, cache_dir / PROCESSED_FILE
    )
    result = FetchResult(**{**result.__dict__, "downloads": tuple(records)})
    write_json(
        cache_dir / MANIFEST_FILE,
        {
            "downloads": [r.to_dict() for r in records],
            "processed": {
                "path": str(result.path),
                "sha256": sha256_file(result.path),
                "n_samples": result.n_samples,
                "n_genes": result.n_genes,
                "n_missing_values": result.n_missing_values,
                "n_unlabeled_dropped": result.n_unlabeled_dropped,
                "n_genes_renamed": result.n_genes_renamed,
            },
        },
    )
    return result


def load_xena_pancan(
    cache_dir: Path | None = None,
    impute: Impute | None = None,
    drop_missing: DropMissing | None = None,
) -> Dataset:
    """Load the cached, processed Pan-Cancer matrix (run :func:`fetch_xena_pancan` first)."""
    path = (Path(cache_dir) if cache_dir is not None else default_cache_dir()) / PROCESSED_FILE
    if not path.exists():
        raise InitsensError(
            f"xena-pancan is not downloaded yet ({path} is missing); run `initsens data fetch "
            "xena-pancan`"
        )
    return load_matrix(
        path,
        "samples-x-genes",
        label_column="cancer_type",
        impute=impute,
        drop_missing=drop_missing,
    )
