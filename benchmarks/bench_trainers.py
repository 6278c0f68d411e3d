"""Ensemble trainer vs the plain one-run-at-a-time trainer on the study's architecture.

Run on demand (not a test):  python benchmarks/bench_trainers.py [--members 10] [--epochs 2] [--device cpu]

Prints, from one run on one machine: model-epochs per second of each trainer, their ratio, the
float32 matmul peak measured with a large matmul, each trainer's fraction of that peak (counting the
three big matmuls per Linear layer: forward, input gradient, weight gradient), peak memory (RSS on
the CPU, allocator peak on CUDA) and whether the ensemble reproduced the plain trainer's first epoch.
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from initsens.data import make_synthetic, prepare
from initsens.training import SweepConfig, train_run
from initsens.training.ensemble import train_ensemble


def matmul_peak(device: torch.device, n: int = 4096, repeats: int = 10) -> float:
    """FLOP/s of a large square float32 matmul."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def flops_per_model_epoch(n_train: int, n_val: int, n_genes: int, hidden: int, latent: int) -> float:
    """Matmul FLOPs of one epoch: 3 matmuls per layer in training, 1 in validation."""
    layer_macs = n_genes * hidden + hidden * 2 * latent + latent * hidden + hidden * n_genes
    return 2 * layer_macs * (3 * n_train + n_val)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10, help="runs in the ensemble (and in the plain loop)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="VanillaVAE")
    args = parser.parse_args()
    device = torch.device(args.device)
    data = prepare(make_synthetic(), top_genes=5000)  # 800 training, 200 validation samples
    cfg = SweepConfig.from_mapping({"models": args.model, "inits": "xavier_uniform", "depths": "1",
                                    "repeats": args.members, "epochs": args.epochs, "patience": args.epochs,
                                    "top_genes": 5000, "hidden_dims": "512", "latent_dim": 50, "batch_size": 64})
    specs = cfg.runs()
    peak = matmul_peak(device)
    work = flops_per_model_epoch(data.n_train, data.n_val, data.n_genes, 512, 50)
    model_epochs = len(specs) * args.epochs

    train_run(specs[0], data, device)  # warm-up (allocator, kernels)
    sync(device)
    start = time.perf_counter()
    plain = [train_run(spec, data, device) for spec in specs]
    sync(device)
    plain_s = time.perf_counter() - start
    plain_mem = peak_memory_mb(device)

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    start = time.perf_counter()
    together = train_ensemble(specs, data, device)
    sync(device)
    ensemble_s = time.perf_counter() - start
    ensemble_mem = peak_memory_mb(device)

    worst = max(abs(a.history[0].train_loss - b.history[0].train_loss) / abs(a.history[0].train_loss)
                for a, b in zip(plain, together))
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, model {args.model}, "
          f"{args.members} runs x {args.epochs} epochs, {data.n_train} train / {data.n_val} val samples, "
          f"{data.n_genes} genes, hidden 512, latent 50, batch 64, float32")
    print(f"float32 matmul peak: {peak / 1e9:.1f} GFLOP/s")
    for name, seconds, mem in (("plain loop", plain_s, plain_mem), ("ensemble", ensemble_s, ensemble_mem)):
        rate = model_epochs / seconds
        print(f"{name:>10}: {seconds / model_epochs:.3f} s per model-epoch, {rate:.2f} model-epochs/s, "
              f"{work * rate / peak:.0%} of peak, peak memory {mem:.0f} MiB")
    print(f"ensemble / plain speed ratio: {plain_s / ensemble_s:.2f}x")
    print(f"first-epoch training loss, largest relative difference: {worst:.1e}")


if __name__ == "__main__":
    main()
