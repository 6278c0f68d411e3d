"""The same runs trained with strict arithmetic (fp32, subnormals kept) and with a faster one (bf16,
or tf32 on CUDA; or subnormals flushed to zero on the CPU): speed ratio and how much the results
move.

Run on demand (not a test):  python benchmarks/bench_precision.py [--device cpu] [--precision bf16]
                                                                  [--denormals keep] [--repeats 3]
                                                                  [--epochs 30]
For subnormals alone: --precision fp32 --denormals flush.

Trains VanillaVAE and IWAE x the five initializers x --repeats seeds on tcga5 (5,000 genes, 512
hidden, the default protocol, capped at --epochs) once per arithmetic, in one process, and prints:
seconds per model-epoch and the speed ratio; the largest relative change in val_nelbo, the largest
change in best epoch and in ARI between the paired runs (same seed, same initializer).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
import torch

from initsens.data import load_dataset, prepare
from initsens.training import SweepConfig, train_ensemble


def train(
    arithmetic: dict, args: argparse.Namespace, data, device: torch.device
) -> tuple[pd.DataFrame, dict]:
    """The runs' results and seconds per model-epoch, per model and "all"."""
    cfg = SweepConfig.from_mapping(
        {
            "models": "VanillaVAE,IWAE",
            "depths": "1",
            "repeats": args.repeats,
            "epochs": args.epochs,
            **arithmetic,
        }
    )
    rows, seconds, model_epochs = [], {}, {}
    for model in cfg.models:
        specs = [s for s in cfg.runs() if s.model == model]
        start = time.perf_counter()
        results = train_ensemble(specs, data, device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds[model] = time.perf_counter() - start
        model_epochs[model] = sum(r.epochs_trained for r in results)
        rows += [
            {
                "model": s.model,
                "initializer": s.initializer,
                "seed": s.seed,
                "val_nelbo": r.val_nelbo,
                "best_epoch": r.best_epoch,
                "ari": r.ari,
                "status": r.status,
            }
            for s, r in zip(specs, results)
        ]
    per = {model: seconds[model] / model_epochs[model] for model in seconds}
    return pd.DataFrame(rows), {**per, "all": sum(seconds.values()) / sum(model_epochs.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="bf16", help="fp32, bf16, or tf32 on CUDA")
    parser.add_argument("--denormals", default="keep", help="keep, or flush (CPU)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    device = torch.device(args.device)
    data = prepare(load_dataset("tcga5"), top_genes=5000)
    strict, strict_s = train({"precision": "fp32", "denormals": "keep"}, args, data, device)
    fast, fast_s = train(
        {"precision": args.precision, "denormals": args.denormals}, args, data, device
    )
    both = strict.merge(fast, on=["model", "initializer", "seed"], suffixes=("", "_fast"))
    ok = both[(both["status"] == "ok") & (both["status_fast"] == "ok")]
    rel = np.abs(ok["val_nelbo_fast"] - ok["val_nelbo"]) / np.abs(ok["val_nelbo"])
    print(
        f"device {device}, torch {torch.__version__}, {len(both)} runs x up to {args.epochs} epochs"
    )
    for model in strict_s:
        print(
            f"{model}: fp32, subnormals kept {strict_s[model]:.3f} s per model-epoch; "
            f"{args.precision}, subnormals {args.denormals} {fast_s[model]:.3f} s; speed ratio "
            f"{strict_s[model] / fast_s[model]:.2f}x"
        )
    print(
        f"largest relative change in val_nelbo: {rel.max():.2e} (median {rel.median():.2e}); "
        "largest change in best epoch: "
        f"{int(np.abs(ok['best_epoch_fast'] - ok['best_epoch']).max())}; largest change in ARI: "
        f"{np.abs(ok['ari_fast'] - ok['ari']).max():.3f}; statuses that differ: "
        f"{int((both['status'] != both['status_fast']).sum())}"
    )


if __name__ == "__main__":
    main()
