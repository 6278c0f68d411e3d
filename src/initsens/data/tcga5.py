"""``tcga5``: real TCGA RNA-seq shipped with the package, the default dataset.

309 samples of five TCGA cohorts (ACC, CHOL, DLBC, UCS, UVM; 9 CHOL solid-tissue normals included)
x the 8,000 genes of largest MAD over all samples, log2(RSEM + 1) stored as float16. Built by
``scripts/build_tcga5.py`` from RTCGA.rnaseq.20160128 (Broad GDAC Firehose 2016-01-28, GPL-2);
provenance and terms in ``builtin/README.md`` beside the file. ``tcga5-tumor`` keeps the 300
primary tumours.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from initsens.data.dataset import Dataset

ID_COLUMNS = ("sample_id", "cancer_type", "sample_type")


def tcga5_path() -> Path:
    """Where the embedded Parquet file lies (read it with pandas to see the sample types)."""
    return Path(str(resources.files("initsens.data") / "builtin" / "tcga5.parquet"))


def load_tcga5(tumor_only: bool = False, **_: object) -> Dataset:
    """The embedded dataset as float32, labelled by cancer type; ``tumor_only`` drops the
    normals.
    """
    table = pq.read_table(tcga5_path())
    genes = [name for name in table.column_names if name not in ID_COLUMNS]
    X = np.column_stack([table[g].to_numpy() for g in genes]).astype(np.float32)
    dataset = Dataset(
        X,
        np.asarray(table["sample_id"].to_pylist()),
        np.asarray(genes),
        np.asarray(table["cancer_type"].to_pylist()),
        "tcga5",
    )
    if not tumor_only:
        return dataset
    tumour = np.asarray(table["sample_type"].to_pylist()) == "Primary Tumor"
    return dataset.select_samples(tumour).renamed("tcga5-tumor")
