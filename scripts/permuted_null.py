"""The claim rules in a world where the initializer does not matter: the committed reproduction's runs with the
initializer labels shuffled among the runs of each seed within each cell (model, depth, normalization), judged
again and again.

Shuffling within a seed keeps each cell's pairing by seed (E1 and P4 pair runs by seed) and its mix of finished
and failed runs, and makes every initializer claim false in the sense the rules test: no initializer is better, so
"contradicted" answers P2/P3/E1 only by error, and every ω² of P1 is near 0. The share of permutations in which a
claim comes out contradicted estimates the rules' false-contradiction rate on data shaped like ours.

``python scripts/permuted_null.py [--results results/reproduction] [--permutations 100] [--out null.csv]
[--protocols eltager2023,initsens,eltager2023-pancan]``;
``--full-copy DIR`` also writes one permuted copy as a results folder, for ``initsens reproduce --no-train``.
Each protocol draws its permutations from its own stream (``--seed`` and its name), and an existing ``--out`` keeps
the rows of the protocols not permuted this time: protocols permuted one call at a time, as their runs land, give
the same file as one call for all of them.
"""

from __future__ import annotations

import argparse
import shutil
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from initsens.analysis import load_results
from initsens.reproduction.claims import CONTRADICTED, OWN_LOSS, PRIMARY, SOURCE
from initsens.reproduction.studies import DEFAULT_READINGS, plan_studies
from initsens.reproduction.verdicts import judge_runs, study_result, verdict_table

PROTOCOLS = ("eltager2023", "initsens")
CELL = ["model", "depth", "normalization", "seed"]


def permuted(runs: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """``runs`` with the initializer labels shuffled within each cell and seed."""
    out = runs.copy()
    labels = out["initializer"].to_numpy().copy()
    for index in out.groupby(CELL, sort=False).indices.values():
        labels[index] = labels[rng.permutation(index)]
    out["initializer"] = labels
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results/reproduction"))
    parser.add_argument("--permutations", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("permuted_null.csv"))
    parser.add_argument("--full-copy", type=Path, default=None)
    parser.add_argument("--protocols", default=",".join(PROTOCOLS),
                        help="comma-separated; eltager2023-pancan is permuted on the runs of its judged phases only")
    args = parser.parse_args()
    rows = []
    studies = plan_studies([p for p in args.protocols.split(",") if p], {}, args.results, ladder=False)
    for study in studies:
        name, own = study.name, study.default
        rng = np.random.default_rng([args.seed, zlib.crc32(name.encode())])
        result, _ = study_result(study, 0.05)  # the runs of the study's complete phases, as the judge reads them
        if not result.judged:
            print(f"{name}: {result.progress()} trained, not judged yet; skipped", flush=True)
            continue
        runs = result.runs
        other = next(r for r in DEFAULT_READINGS if r != own)
        runs = runs[runs["initializer"] != other]  # the protocol's own reading only: five initializers
        for i in range(args.permutations):
            table = verdict_table(judge_runs(permuted(runs, rng), own, 0.05))
            table = table[(table["check"] == PRIMARY) & (table["scope"] == SOURCE)]
            rows += [{"protocol": name, "runs": len(runs), "permutation": i, "claim": r.claim, "verdict": r.verdict}
                     for r in table.itertuples()]
            print(name, i, dict(zip(table["claim"], table["verdict"])), flush=True)
        if args.full_copy is not None:
            copy = args.full_copy / name / "runs"
            shutil.rmtree(copy, ignore_errors=True)
            copy.mkdir(parents=True)
            permuted(load_results(args.results / name, OWN_LOSS).runs, rng).to_parquet(copy / "part-permuted.parquet")
    if not rows:
        print("no study judged yet: nothing to permute")
        return
    frame = pd.DataFrame(rows)
    if args.out.exists():  # keep the other protocols' rows
        kept = pd.read_csv(args.out)
        frame = pd.concat([kept[~kept["protocol"].isin(frame["protocol"])], frame], ignore_index=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(args.out)
    summary = frame.assign(contradicted=frame["verdict"] == CONTRADICTED).groupby(["protocol", "claim"]).agg(
        permutations=("permutation", "nunique"), contradicted=("contradicted", "sum"))
    print(summary.to_string())
    print(frame.groupby(["protocol", "claim"])["verdict"].value_counts().unstack(fill_value=0).to_string())


if __name__ == "__main__":
    main()
