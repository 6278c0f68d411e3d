"""The default study at the old default (subnormals kept) and the new one (flushed on the CPU):
speed, roofline share and how far the results move.

Run on demand (not a test):  python benchmarks/bench_default.py [--repeats 1] [--epochs 10]
                                                                [--device cpu]

Trains a fixed slice of ``initsens train``'s default study (tcga5, 5,000 genes, z-score; the four
models x the five initializers x depths 1 and 2 x ``--repeats`` seeds, every run capped at
``--epochs`` epochs with patience as long, so both arithmetics do the same work) through the real
sweep path (``plan_sweep`` + ``run_sweep``, the ensemble trainer), once per arithmetic, one model at
a time and alternating, in one process. Prints per model: seconds per model-epoch kept and flushed,
their ratio, and the share of the roofline each reaches (the matmuls an epoch must do at the float32
matmul peak measured in the same run, plus the Adam steps timed on their own) next to the same
products timed at the shapes the ensemble runs them (what the trainer would take doing nothing
else); then the slice's overall ratio, each model weighted by the epochs its runs of the committed
``initsens`` study (z-score) trained to convergence (``results/reproduction/initsens``; equal
weights without it), and the largest differences between paired runs (same model, initializer, depth
and seed) in val_nelbo, best epoch, ARI and status. The first line says how much slower this CPU
multiplies subnormal operands: flushing them gains where that is well above 1.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from bench_trainers import (
    adam_seconds,
    ensemble_products_seconds,
    matmul_flops,
    matmul_peak,
    seconds,
)

from initsens.training import SweepConfig, plan_sweep, run_sweep

ARITHMETICS = ("keep", "flush")


def bounds(
    config: SweepConfig, n_train: int, n_val: int, peak: float, members: int, device: torch.device
) -> tuple[float, float]:
    """Two floors per model-epoch, averaged over the slice's depths. The roofline: every Linear
    layer's products (a decoder layer once per importance sample) at ``peak``, plus one fused Adam
    step per minibatch. And the same products timed at the shapes an ensemble of ``members`` runs
    them (batch 64, stacked), plus Adam: what the trainer would take if it did nothing but them.
    """
    roofline, shaped = [], []
    for depth in config.depths:
        spec = next(s for s in config.runs() if s.depth == depth)
        model = spec.build_model(5000).to(device)
        k = getattr(model, "iwae_k", 1)
        layers = [
            (m.in_features, m.out_features, k if name.startswith("decoder") else 1)
            for name, m in model.named_modules()
            if isinstance(m, torch.nn.Linear)
        ]
        steps = -(-n_train // config.batch_size)
        adam = steps * adam_seconds(model, device, members) / members
        roofline.append(matmul_flops(n_train, n_val, layers) / peak + adam)
        shaped.append(
            ensemble_products_seconds(members, config.batch_size, n_val, steps, layers, device)
            + adam
        )
    return float(np.mean(roofline)), float(np.mean(shaped))


def subnormal_penalty(device: torch.device) -> float:
    """How much slower this CPU multiplies when 6% of an operand is subnormal (a 640 x 5,000 x 512
    product, as an ensemble's decoder runs; IWAE's gradients hold about that share): the whole gain
    flushing can bring.
    """
    a, b = torch.randn(640, 5000, device=device), torch.randn(5000, 512, device=device)
    sub = a.clone()
    sub[:, ::16] = 1e-40
    return seconds(lambda: sub @ b, device, 10) / seconds(lambda: a @ b, device, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=1, help="seeds per model x initializer x depth"
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    root = Path(tempfile.mkdtemp(prefix="initsens-bench-default-"))
    common = {
        "repeats": args.repeats,
        "epochs": args.epochs,
        "patience": args.epochs,
        "device": args.device,
    }
    models = SweepConfig().models
    seconds = {(m, a): 0.0 for m in models for a in ARITHMETICS}
    model_epochs = dict.fromkeys(seconds, 0)
    runs = []
    warm = SweepConfig.from_mapping(
        {
            **common,
            "models": "VanillaVAE",
            "inits": "default",
            "depths": "1",
            "repeats": 1,
            "epochs": 1,
        }
    )
    run_sweep(plan_sweep(warm, root / "warm-up"))  # the allocator, the kernels, the data cache
    for position, model in enumerate(models):
        for arithmetic in ARITHMETICS[
            :: 1 if position % 2 == 0 else -1
        ]:  # alternating which goes first
            config = SweepConfig.from_mapping({**common, "models": model, "denormals": arithmetic})
            plan = plan_sweep(config, root / arithmetic / model)
            start = time.perf_counter()
            run_sweep(plan)
            seconds[model, arithmetic] = time.perf_counter() - start
            plan.store.release()
            table = pd.read_parquet(root / arithmetic / model / "runs").assign(
                arithmetic=arithmetic
            )
            model_epochs[model, arithmetic] = int(table["epochs_trained"].sum())
            runs.append(table)
    results = pd.concat(runs, ignore_index=True)
    n_train, n_val = int(results["n_train"].iloc[0]), int(results["n_val"].iloc[0])
    peak = matmul_peak(device)
    print(
        f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}; float32 "
        f"matmul peak {peak / 1e9:.0f} GFLOP/s; a product with 6% subnormal operands takes "
        f"{subnormal_penalty(device):.2f}x the time of one without; slice: 4 models x 5 "
        f"initializers x depths 1, 2 x {args.repeats} seed(s), {args.epochs} epochs each, tcga5 "
        f"({n_train} train / {n_val} validation samples, 5,000 genes)"
    )
    committed = Path(__file__).parent.parent / "results" / "reproduction" / "initsens" / "runs"
    if committed.is_dir():
        study = pd.read_parquet(committed).query("normalization == 'zscore'")
        weights = study.groupby("model")["epochs_trained"].sum().reindex(list(models)).to_dict()
        weighted = f"weighted by the committed initsens study's epochs ({len(study)} runs, z-score)"
    else:
        weights, weighted = dict.fromkeys(models, 1), "each model weighted alike"
    old_total = new_total = 0.0
    for model in models:
        config = SweepConfig.from_mapping({**common, "models": model})
        bound, shaped = bounds(config, n_train, n_val, peak, 10, device)
        kept = seconds[model, "keep"] / model_epochs[model, "keep"]
        flushed = seconds[model, "flush"] / model_epochs[model, "flush"]
        old_total, new_total = (
            old_total + weights[model] * kept,
            new_total + weights[model] * flushed,
        )
        print(
            f"{model:>11}: kept {kept:.3f} s per model-epoch ({bound / kept:.0%} of roofline), "
            f"flushed {flushed:.3f} s ({bound / flushed:.0%}); ratio {kept / flushed:.2f}x; "
            f"roofline {bound:.3f} s; its products at an ensemble's shapes (10 members) + Adam "
            f"{shaped:.3f} s"
        )
    print(
        f"the default study ({weighted}): {old_total / new_total:.2f}x faster at the new default; "
        f"about {old_total / 60:.0f} against {new_total / 60:.0f} min of training for those epochs"
    )
    key = ["model", "initializer", "depth", "seed"]
    pair = results[results["arithmetic"] == "keep"].merge(
        results[results["arithmetic"] == "flush"], on=key, suffixes=("_keep", "_flush")
    )
    ok = pair[(pair["status_keep"] == "ok") & (pair["status_flush"] == "ok")]
    rel = (ok["val_nelbo_flush"] - ok["val_nelbo_keep"]).abs() / ok["val_nelbo_keep"].abs()
    print(
        f"{len(pair)} paired runs: largest relative change in val_nelbo {rel.max():.1e} (median "
        f"{rel.median():.1e}), in best epoch "
        f"{int((ok['best_epoch_flush'] - ok['best_epoch_keep']).abs().max())}, in ARI "
        f"{(ok['ari_flush'] - ok['ari_keep']).abs().max():.4f}; statuses that differ: "
        f"{int((pair['status_keep'] != pair['status_flush']).sum())}"
    )


if __name__ == "__main__":
    main()
