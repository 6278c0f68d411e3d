"""In-process training against a local Dask cluster of 2 workers on this machine, and Dask's cost
per chunk.

Run on demand (not a test):  python benchmarks/bench_distributed.py [--repeats 4] [--epochs 20]

1. The same grid (VanillaVAE and InfoVAE, of similar cost, x 5 initializers x depth 1 x --repeats
   seeds on tcga5, the study's architecture, --epochs epochs without early stopping, chunks of 10
   runs) in-process with 2 threads and on `--workers 2` (1 thread each): runs per minute and the
   ratio.
2. Overhead: a grid of tiny runs (one epoch, 8 genes) cut into one-run chunks, so the time per chunk
   is almost all scheduling, shipping and writing; printed as seconds per chunk, in-process and on
   Dask.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from initsens.training import SweepConfig, plan_sweep, run_sweep
from initsens.training.distributed import connect, run_sweep_distributed


def timed(
    config: SweepConfig, remote: bool, workers: int = 2, threads: int = 1
) -> tuple[float, int, int, float]:
    """(seconds, runs, chunks, cluster start-up seconds) of one sweep into a fresh folder,
    in-process or on a local cluster (started, with its workers' imports, before the sweep's clock
    starts).
    """
    with tempfile.TemporaryDirectory() as out:
        if not remote:
            plan = plan_sweep(config, out)
            start = time.perf_counter()
            summary = run_sweep(plan)
            return (
                time.perf_counter() - start,
                summary.trained,
                len(list(plan.store.run_parts())),
                0.0,
            )
        started = time.perf_counter()
        with connect(workers=workers, threads_per_worker=threads) as client:
            startup = time.perf_counter() - started
            plan = plan_sweep(config, out, local_device=False)
            start = time.perf_counter()
            summary = run_sweep_distributed(plan, client)
            return (
                time.perf_counter() - start,
                summary.trained,
                len(list(plan.store.run_parts())),
                startup,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(2)
    grid = SweepConfig.from_mapping(
        {
            "models": "VanillaVAE,InfoVAE",
            "depths": "1",
            "repeats": args.repeats,
            "epochs": args.epochs,
            "patience": args.epochs,
            "ensemble_size": 10,
            "device": "cpu",
        }
    )
    local_s, runs, _, _ = timed(grid, remote=False)
    dask_s, _, chunks, dask_up = timed(grid, remote=True)
    one_s, _, _, one_up = timed(grid, remote=True, workers=1, threads=2)
    print(
        f"{runs} runs (the study's architecture, {args.epochs} epochs), {chunks} chunks on this "
        "machine:"
    )
    print(f"  in-process (2 threads):        {60 * runs / local_s:7.1f} runs/min ({local_s:.1f} s)")
    print(
        f"  --workers 2 (1 thread each):   {60 * runs / dask_s:7.1f} runs/min ({dask_s:.1f} s; "
        f"cluster start-up {dask_up:.1f} s before it)"
    )
    print(
        f"  --workers 1 (2 threads):       {60 * runs / one_s:7.1f} runs/min ({one_s:.1f} s; "
        f"cluster start-up {one_up:.1f} s before it)"
    )
    print(
        f"  ratio --workers 2 / in-process: {local_s / dask_s:.2f}x "
        f"({local_s / (dask_s + dask_up):.2f}x counting the start-up); --workers 1 / in-process: "
        f"{local_s / one_s:.2f}x ({local_s / (one_s + one_up):.2f}x)"
    )
    tiny = SweepConfig.from_mapping(
        {
            "models": "VanillaVAE",
            "depths": "1",
            "repeats": 20,
            "epochs": 1,
            "top_genes": 8,
            "hidden_dims": "4",
            "latent_dim": 2,
            "ensemble_size": 1,
            "device": "cpu",
        }
    )
    tiny_local, n, _, _ = timed(tiny, remote=False)
    tiny_dask, _, _, _ = timed(tiny, remote=True)
    print(
        f"overhead on {n} one-run chunks of tiny runs: in-process {tiny_local / n:.3f} s per "
        f"chunk, Dask {tiny_dask / n:.3f} s per chunk (difference "
        f"{(tiny_dask - tiny_local) / n:.3f} s per chunk)"
    )


if __name__ == "__main__":
    main()
