"""The claim rules in worlds where the initializer does not matter, made from the committed
reproduction's runs (:mod:`initsens.reproduction.nulls`) and judged again and again: the share of
worlds in which a claim comes out contradicted estimates its rule's false-contradiction rate on data
shaped like ours.

- ``permuted``: the initializer labels shuffled among the runs of each seed within each cell
  (spreads pooled);
- ``centred``: each initializer's runs moved to the cell's common mean and resampled within the
  initializer (spreads, shapes and failures kept).

``python scripts/permuted_null.py [--results results/reproduction] [--permutations 400]
[--nulls permuted,centred] [--out null.csv] [--protocols eltager2023,initsens,eltager2023-pancan]``;
``--full-copy DIR`` also writes one permuted copy as a results folder, for
``initsens reproduce --no-train``. Each protocol and null draws its worlds from its own stream
(``--seed``, its name and the null's), and an existing ``--out`` keeps the rows of the protocols and
nulls not run this time: protocols run one call at a time, as their runs land, give the same file as
one call for all of them.
"""

from __future__ import annotations

import argparse
import shutil
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from initsens.analysis import load_results
from initsens.reproduction.claims import CHECKS, CONTRADICTED, OWN_LOSS, PRIMARY, SOURCE, evaluate
from initsens.reproduction.claims.rules import RULES_VERSION
from initsens.reproduction.nulls import NULLS, permuted, with_defaults
from initsens.reproduction.studies import DEFAULT_READINGS, plan_studies
from initsens.reproduction.verdicts import study_result, verdict_table


def judge_world(runs: pd.DataFrame) -> list[dict]:
    """The verdict check's source-scope verdict of every claim in one world, with what decided each
    contradiction ('mean', 'failures', both comma-separated, or '' where the rule does not say).
    """
    check = CHECKS[PRIMARY]
    evidence = evaluate(runs, check.metric, 0.05, check.claims()).assign(check=check.name)
    table = verdict_table(evidence)
    table = table[(table["check"] == PRIMARY) & (table["scope"] == SOURCE)]
    against = evidence[(evidence["verdict"] == CONTRADICTED) & (evidence["scope"] == SOURCE)]
    by = (
        against.groupby("claim")["pair_by"].agg(
            lambda v: ",".join(sorted({b for b in v if isinstance(b, str) and b}))
        )
        if "pair_by" in against.columns
        else pd.Series(dtype=str)
    )
    return [
        {"claim": r.claim, "verdict": r.verdict, "contradicted_by": by.get(r.claim, "")}
        for r in table.itertuples()
    ]


PROTOCOLS = ("eltager2023", "initsens")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=Path("results/reproduction"))
    parser.add_argument(
        "--permutations", type=int, default=400, help="worlds per protocol and null"
    )
    parser.add_argument(
        "--nulls", default=",".join(NULLS), help=f"comma-separated, of: {', '.join(NULLS)}"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("reports/reproduction/tables/nulls.csv"))
    parser.add_argument("--full-copy", type=Path, default=None)
    parser.add_argument(
        "--protocols",
        default=",".join(PROTOCOLS),
        help="comma-separated; eltager2023-pancan is permuted on the runs of its judged phases "
        "only",
    )
    args = parser.parse_args()
    rows = []
    nulls = [n for n in args.nulls.split(",") if n]
    unknown = [n for n in nulls if n not in NULLS]
    if unknown:
        parser.error(f"--nulls: unknown {', '.join(unknown)}; choose from {', '.join(NULLS)}")
    studies = plan_studies(
        [p for p in args.protocols.split(",") if p], {}, args.results, ladder=False
    )
    for study in studies:
        name, own = study.name, study.default
        result, _ = study_result(
            study, 0.05
        )  # the runs of the study's complete phases, as the judge reads them
        if not result.judged:
            print(f"{name}: {result.progress()} trained, not judged yet; skipped", flush=True)
            continue
        runs = result.runs
        other = next(r for r in DEFAULT_READINGS if r != own)
        runs = runs[runs["initializer"] != other].reset_index(
            drop=True
        )  # the protocol's own reading only
        for null in nulls:
            extra = (
                [] if null == "permuted" else [zlib.crc32(null.encode())]
            )  # permuted keeps the stream it had
            rng = np.random.default_rng([args.seed, zlib.crc32(name.encode()), *extra])
            for i in range(args.permutations):
                verdicts = judge_world(NULLS[null](runs, rng))
                rows += [
                    {
                        "protocol": name,
                        "null": null,
                        "rules": RULES_VERSION,
                        "runs": len(runs),
                        "permutation": i,
                        **row,
                    }
                    for row in verdicts
                ]
                print(name, null, i, {r["claim"]: r["verdict"] for r in verdicts}, flush=True)
        if args.full_copy is not None:
            copy = args.full_copy / name / "runs"
            shutil.rmtree(copy, ignore_errors=True)
            copy.mkdir(parents=True)
            permuted(load_results(args.results / name, OWN_LOSS).runs, rng).to_parquet(
                copy / "part-permuted.parquet"
            )
    if not rows:
        print("no study judged yet: nothing to permute")
        return
    frame = pd.DataFrame(rows)
    if (
        args.out.exists()
    ):  # keep the rows of the other protocols and nulls (a file from before nulls: permuted)
        kept = with_defaults(pd.read_csv(args.out))
        key = ["protocol", "null", "rules"]
        done = set(frame[key].itertuples(index=False, name=None))
        kept = kept[[k not in done for k in kept[key].itertuples(index=False, name=None)]]
        frame = pd.concat([kept, frame], ignore_index=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(args.out)
    summary = (
        frame.assign(contradicted=frame["verdict"] == CONTRADICTED)
        .groupby(["protocol", "null", "claim"])
        .agg(permutations=("permutation", "nunique"), contradicted=("contradicted", "sum"))
    )
    print(summary.to_string())
    print(
        frame.groupby(["protocol", "null", "claim"])["verdict"]
        .value_counts()
        .unstack(fill_value=0)
        .to_string()
    )


if __name__ == "__main__":
    main()
