"""Peak memory of `initsens data info` and of a one-run `initsens train` on a large sparse AnnData
counts file.

Run on demand (not a test):  python benchmarks/bench_h5ad_memory.py [--samples 10000]
                                                                    [--genes 60000] [--density 0.1]
                                                                    [--dense-baseline]

Writes a samples x genes matrix of Poisson counts with the given share of non-zero values to a
temporary .h5ad (as a CSR layer ``counts``), then runs each command in a fresh process and prints
its peak resident memory (ru_maxrss) and wall time. Genes are ranked by variance: with most values
0, every gene's MAD is 0. ``--dense-baseline`` also stores the same counts as a dense ``X`` in a
second file and measures the same commands on it (what the code did before sparse input: a dense
float32 matrix and a float64 copy for the transform); the ratios sparse / dense are printed last.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

MEASURE = """
import resource, sys
from initsens.cli import main
sys.argv = ["initsens", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code or 0
else:
    code = 0
print(f"PEAK_KIB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr)
sys.exit(code)
"""


def write_counts(
    path: Path, samples: int, genes: int, density: float, dense: bool, seed: int = 0
) -> None:
    import anndata

    rng = np.random.default_rng(seed)
    nnz_per_row = max(1, int(round(genes * density)))
    indptr = np.arange(samples + 1, dtype=np.int64) * nnz_per_row
    indices = np.concatenate(
        [np.sort(rng.choice(genes, nnz_per_row, replace=False)) for _ in range(samples)]
    )
    gene_mean = rng.gamma(0.8, 200.0, size=genes)
    data = (rng.poisson(gene_mean[indices]) + 1).astype(
        np.float32
    )  # stored values are non-zero counts
    counts = sparse.csr_matrix((data, indices.astype(np.int32), indptr), shape=(samples, genes))
    types = np.array([f"T{i % 20:02d}" for i in range(samples)])
    obs = pd.DataFrame({"cancer_type": types}, index=[f"S{i:06d}" for i in range(samples)])
    var = pd.DataFrame(index=[f"ENSG{j:011d}" for j in range(genes)])
    if dense:
        adata = anndata.AnnData(X=counts.toarray(), obs=obs, var=var)
    else:
        adata = anndata.AnnData(X=None, obs=obs, var=var, layers={"counts": counts})
    adata.write_h5ad(path)


def measure(args: list[str]) -> tuple[float, float]:
    """(peak GiB, seconds) of one initsens command in a fresh process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", MEASURE, *args], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"initsens {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    peak = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("PEAK_KIB")
    )
    return peak / 2**20, seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--genes", type=int, default=60_000)
    parser.add_argument("--density", type=float, default=0.1)
    parser.add_argument("--dense-baseline", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        kinds = {"sparse": (Path(folder) / "sparse.h5ad", ["--layer", "counts"])}
        if args.dense_baseline:
            kinds["dense"] = (Path(folder) / "dense.h5ad", [])
        results = {}
        for kind, (path, extra) in kinds.items():
            write_counts(path, args.samples, args.genes, args.density, dense=kind == "dense")
            print(
                f"{kind}: {args.samples:,} x {args.genes:,}, {args.density:.0%} non-zero, "
                f"{path.stat().st_size / 2**30:.2f} GiB on disk"
            )
            data = ["--data", str(path), *extra]
            commands = {
                "data info": ["data", "info", *data, "--gene-selection", "variance"],
                "train (1 run)": [
                    "train",
                    *data,
                    "--models",
                    "VanillaVAE",
                    "--inits",
                    "default",
                    "--depths",
                    "1",
                    "--repeats",
                    "1",
                    "--epochs",
                    "2",
                    "--top-genes",
                    str(min(5000, args.genes)),
                    "--gene-selection",
                    "variance",
                    "--quiet",
                    "--out",
                    str(Path(folder) / kind),
                ],
            }
            for name, command in commands.items():
                results[kind, name] = measure(command)
                peak, seconds = results[kind, name]
                print(f"  {name:14s} peak {peak:6.2f} GiB  {seconds:6.1f} s")
        if args.dense_baseline:
            for name in ("data info", "train (1 run)"):
                ratio = results["sparse", name][0] / results["dense", name][0]
                print(f"{name}: peak memory sparse / dense = {ratio:.2f}")


if __name__ == "__main__":
    main()
