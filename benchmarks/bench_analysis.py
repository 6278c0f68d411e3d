"""How long `initsens analyze` takes as the grid grows: 400 runs (the default study), 40,000 runs,
and one cell of 18,009 runs (9 initializers x 2,001 seeds, the shape of NIST's SmLs03 set).

Run on demand (not a test):  python benchmarks/bench_analysis.py [--seeds 10,1000] [--stages]
                                                                 [--no-large-cell]

Simulated results tables (4 models x 5 initializers x 2 depths x S seeds, with an initializer effect
in one model, a seed effect and ~5% diverged runs) go through the whole analysis (the same call as
the CLI) with the default bootstrap sizes. Prints seconds per grid, the time ratio against the first
(smallest) grid measured in the same run, and the ratio of rows, so the growth exponent is visible.
With --stages, the seconds of each stage as well; the process's peak RSS at the end.
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import numpy as np
import pandas as pd

from initsens.analysis.study import analyze

MODELS = ["VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE"]
INITS = ["default", "normal", "uniform", "xavier_normal", "xavier_uniform"]


def simulated_runs(seeds: int, rng: np.random.Generator) -> pd.DataFrame:
    grid = pd.MultiIndex.from_product(
        [MODELS, INITS, [1, 2], range(seeds)], names=["model", "initializer", "depth", "seed"]
    ).to_frame(index=False)
    init_effect = grid["initializer"].map(dict(zip(INITS, rng.normal(0, 1.0, len(INITS)))))
    loss = (
        300.0
        + 5.0 * grid["model"].map(dict(zip(MODELS, range(4))))
        + 2.0 * grid["depth"]
        + np.where(grid["model"] == "InfoVAE", init_effect, 0.1 * init_effect)
        + rng.normal(0, 0.5, seeds)[grid["seed"]]
        + rng.normal(0, 1.0, len(grid))
    )
    status = np.where(rng.random(len(grid)) < 0.05, "diverged", "ok")
    return grid.assign(
        val_loss=np.where(status == "ok", loss, np.nan),
        status=status,
        run_id=[f"r{i}" for i in range(len(grid))],
    )


def large_cell(rng: np.random.Generator, inits: int = 9, seeds: int = 2001) -> pd.DataFrame:
    """One model x depth cell of ``inits`` initializers x ``seeds`` seeds (seed effect, 5%
    diverged).
    """
    grid = pd.MultiIndex.from_product(
        [[f"init{i}" for i in range(inits)], range(seeds)], names=["initializer", "seed"]
    ).to_frame(index=False)
    loss = (
        300.0
        + grid["initializer"].map(
            dict(zip(grid["initializer"].unique(), rng.normal(0, 0.2, inits)))
        )
        + rng.normal(0, 0.5, seeds)[grid["seed"]]
        + rng.normal(0, 1.0, len(grid))
    )
    status = np.where(rng.random(len(grid)) < 0.05, "diverged", "ok")
    return grid.assign(
        model="VanillaVAE",
        depth=1,
        val_loss=np.where(status == "ok", loss, np.nan),
        status=status,
        run_id=[f"c{i}" for i in range(len(grid))],
    )


def timed(runs: pd.DataFrame, stages: bool) -> float:
    marks: list[tuple[str, float]] = []
    start = time.perf_counter()
    analyze(runs, on_step=lambda name, marks=marks: marks.append((name, time.perf_counter())))
    seconds = time.perf_counter() - start
    if stages:
        ends = [t for _, t in marks[1:]] + [start + seconds]
        for (name, t0), t1 in zip(marks, ends):
            print(f"          {name:<52} {t1 - t0:7.1f} s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="10,1000", help="seeds per combination, comma-separated")
    parser.add_argument("--stages", action="store_true", help="time each stage")
    parser.add_argument(
        "--no-large-cell", action="store_true", help="skip the single 18,009-run cell"
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    baseline = None
    for seeds in (int(s) for s in args.seeds.split(",")):
        runs = simulated_runs(seeds, rng)
        seconds = timed(runs, args.stages)
        baseline = baseline or (len(runs), seconds)
        growth = (
            math.log(seconds / baseline[1]) / math.log(len(runs) / baseline[0])
            if len(runs) > baseline[0]
            else 1.0
        )
        print(
            f"{len(runs):>7} runs: {seconds:8.1f} s   x{seconds / baseline[1]:.1f} time for "
            f"x{len(runs) / baseline[0]:.0f} rows   (time ~ rows^{growth:.2f})",
            flush=True,
        )
    if not args.no_large_cell:
        runs = large_cell(rng)
        seconds = timed(runs, args.stages)
        print(f"{len(runs):>7} runs in one cell: {seconds:8.1f} s   (target < 20 s)", flush=True)
    print(
        "peak memory (RSS) of the process: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB"
    )


if __name__ == "__main__":
    main()
