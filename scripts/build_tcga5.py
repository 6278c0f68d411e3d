"""Build the embedded default dataset ``tcga5`` from the real TCGA subset in ``../shared/data``.

Re-runnable: ``python scripts/build_tcga5.py [--source PATH] [--out PATH]``. Steps, in order:

1. read ``tcga_rtcga5.parquet`` (309 samples x 20,531 genes, log2(RSEM + 1) as float32; its README
   gives the provenance: RTCGA.rnaseq.20160128, Broad GDAC Firehose 2016-01-28 RSEM);
2. drop the genes that are constant in every sample;
3. keep the 8,000 genes with the largest median absolute deviation over **all** samples (ties go
   to the earlier gene), in source order. This pre-filter sees every sample; the training-split
   selection of the top 5,000 inside ``initsens.data.prepare`` still sees only training samples;
4. add ``sample_type`` from the barcode (characters 14-15: ``01`` primary tumour, ``11`` solid
   tissue normal) so users can drop the 9 CHOL normals;
5. write Parquet (zstd, byte-stream-split floats) with values as float16, and the build parameters
   and the source's sha256 in the file's key-value metadata.

The float16 rounding is checked in ``tests/test_tcga5.py`` against the float32 source.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from initsens.data.genes import gene_spread, top_variable_genes

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO.parent / "shared" / "data" / "tcga_rtcga5.parquet"
OUT = REPO / "src" / "initsens" / "data" / "builtin" / "tcga5.parquet"
N_GENES = 8000
SAMPLE_TYPES = {"01": "Primary Tumor", "11": "Solid Tissue Normal"}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def build(source: Path, out: Path, n_genes: int = N_GENES) -> pa.Table:
    table = pq.read_table(source)
    sample_ids = np.asarray(table["sample_id"].to_pylist())
    cancer_types = np.asarray(table["cancer_type"].to_pylist())
    gene_ids = np.asarray(table.column_names[2:])
    X = np.column_stack([table[g].to_numpy() for g in gene_ids]).astype(np.float32)
    varying = X.max(axis=0) > X.min(axis=0)
    X, gene_ids = X[:, varying], gene_ids[varying]
    keep = top_variable_genes(X, n_genes, "mad")
    cutoff = float(np.sort(gene_spread(X, "mad"))[::-1][n_genes - 1])
    X, gene_ids = X[:, keep], gene_ids[keep]
    codes = [s[13:15] for s in sample_ids]
    unknown = sorted(set(codes) - set(SAMPLE_TYPES))
    if unknown:
        raise SystemExit(f"{source}: unexpected sample type code(s) {unknown} in the barcodes")
    half = X.astype(np.float16)
    columns = {
        "sample_id": pa.array(sample_ids),
        "cancer_type": pa.array(cancer_types),
        "sample_type": pa.array([SAMPLE_TYPES[c] for c in codes]),
    }
    columns.update({g: pa.array(half[:, j]) for j, g in enumerate(gene_ids)})
    metadata = {
        "source": "RTCGA.rnaseq.20160128 (GPL-2), Broad GDAC Firehose 2016-01-28, "
        "Level_3__RSEM_genes_normalized, values log2(RSEM + 1)",
        "source_file": source.name,
        "source_sha256": sha256_file(source),
        "build": f"scripts/build_tcga5.py: constant genes dropped ({int((~varying).sum())}), top "
        f"{n_genes} genes by MAD over all {len(sample_ids)} samples (cut-off MAD {cutoff:.6g}), "
        "float16",
        "counts": json.dumps(
            {t: int((cancer_types == t).sum()) for t in sorted(set(cancer_types))}
        ),
    }
    result = pa.table(columns).replace_schema_metadata({k: str(v) for k, v in metadata.items()})
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        result,
        out,
        compression="zstd",
        compression_level=9,
        use_dictionary=["sample_id", "cancer_type", "sample_type"],
        use_byte_stream_split=list(gene_ids),
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help="tcga_rtcga5.parquet")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write tcga5.parquet")
    args = parser.parse_args()
    if not args.source.is_file():
        raise SystemExit(f"{args.source}: no such file; pass --source PATH/tcga_rtcga5.parquet")
    table = build(args.source, args.out)
    print(
        f"{args.out}: {table.num_rows} samples x {table.num_columns - 3} genes, "
        f"{args.out.stat().st_size / 1e6:.2f} MB"
    )


if __name__ == "__main__":
    main()
