"""The claim rules in a world where the initializer does not matter: the committed reproduction's runs with the
initializer labels shuffled among the runs of each seed within each cell (model, depth, normalization), judged
again and again.

Shuffling within a seed keeps each cell's pairing by seed (E1 and P4 pair runs by seed) and its mix of finished
and failed runs, and makes every initializer claim false in the sense the rules test: no initializer is better, so
"contradicted" answers P2/P3/E1 only by error, and every ω² of P1 is near 0. The share of permutations in which a
claim comes out contradicted estimates the rules' false-contradiction rate on data shaped like ours.

``python scripts/permuted_null.py [--results results/reproduction] [--permutations 40] [--out null.csv]
[--protocols eltager2023,initsens,eltager2023-pancan]``;
``--full-copy DIR`` also writes one permuted copy as a results folder, for ``initsens reproduce --no-train``.
"""

from __future__ import annotations

import argparse
import shutil
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
    parser.add_argument("--permutations", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("permuted_null.csv"))
    parser.add_argument("--full-copy", type=Path, default=None)
    parser.add_argument("--protocols", default=",".join(PROTOCOLS),
                        help="comma-separated; eltager2023-pancan is permuted on the runs of its judged phases only")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    studies = plan_studies([p for p in args.protocols.split(",") if p], {}, args.results, ladder=False)
    for study in studies:
        name, own = study.name, study.default
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
            rows += [{"protocol": name, "permutation": i, "claim": r.claim, "verdict": r.verdict}
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
    frame.to_csv(args.out, index=False)
    summary = frame.assign(contradicted=frame["verdict"] == CONTRADICTED).groupby(["protocol", "claim"]).agg(
        permutations=("permutation", "nunique"), contradicted=("contradicted", "sum"))
    print(summary.to_string())
    print(frame.groupby(["protocol", "claim"])["verdict"].value_counts().unstack(fill_value=0).to_string())


if __name__ == "__main__":
    main()
