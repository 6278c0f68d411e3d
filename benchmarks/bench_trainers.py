"""Ensemble trainer vs the plain one-run-at-a-time trainer on the study's architecture.

Run on demand (not a test): python benchmarks/bench_trainers.py [--members 10] [--epochs 10]
                                                                [--device cpu] [--model VanillaVAE]
                                                                [--denormals keep]

Prints, from one run on one machine: model-epochs per second of each trainer, their ratio, the
float32 matmul peak measured with a large matmul, each trainer's fraction of that peak (counting the
three big matmuls per Linear layer: forward, input gradient, weight gradient), peak memory (RSS on
the CPU, allocator peak on CUDA) and whether the ensemble reproduced the plain trainer's first
epoch.

Then a roofline of one model-epoch, each part measured in the same run: the matmuls that must be
done (forward and weight gradients of every layer, input gradients of all but the first) at the
measured peak, plus the Adam updates (13 steps of the model's 5.2 million parameters; memory-bound)
timed on their own, next to the copy bandwidth; their sum bounds how fast any trainer can go, hence
the best ratio over the plain loop. A second bound times the ensemble's own products at their own
shapes (the weight gradients have the batch, 64, as inner dimension), next to the plain loop's
products timed the same way at its shapes: their ratio is all the ensemble can gain on the products.
Last, what sharing the first layer's input between the runs of one seed would save at most: the
first layer's forward and weight-gradient products for the members as the ensemble does them (one
batched product per member) against one product with their weights side by side (what a seed-grouped
ensemble would do).
"""

from __future__ import annotations

import argparse
import resource
import time

import torch

from initsens.data import make_synthetic, prepare
from initsens.training import SweepConfig, train_ensemble, train_run


def matmul_peak(device: torch.device, n: int = 4096, repeats: int = 10) -> float:
    """FLOP/s of a large square float32 matmul."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    return 2 * n**3 / seconds(lambda: a @ b, device, repeats)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def flops_per_model_epoch(n_train: int, n_val: int, layers: list[tuple[int, int, int]]) -> float:
    """Matmul FLOPs of one epoch: 3 matmuls per layer in training, 1 in validation; a layer (in,
    out, k) runs on k rows per sample (the decoder's: IWAE's K).
    """
    return 2 * sum(i * o * k for i, o, k in layers) * (3 * n_train + n_val)


def seconds(fn, device: torch.device, repeats: int) -> float:
    """Mean seconds of ``fn()`` after two warm-up calls."""
    for _ in range(2):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeats


def copy_bandwidth(device: torch.device, n: int = 1 << 26) -> float:
    """Bytes/s of ``c = a + b`` on float32 vectors of ``n`` elements (three streams: two read, one
    written).
    """
    a, b, c = (torch.randn(n, device=device) for _ in range(3))
    return 3 * 4 * n / seconds(lambda: torch.add(a, b, out=c), device, 10)


def adam_seconds(model: torch.nn.Module, device: torch.device, members: int = 1) -> float:
    """Seconds of one Adam step (fused where available, as the trainers) over ``members`` copies of
    the model's parameters, with gradients present.
    """
    from initsens.training.loop import make_optimizer

    params = [
        torch.nn.Parameter(torch.randn(members, *p.shape, device=device))
        for p in model.parameters()
    ]
    for p in params:
        p.grad = torch.randn_like(p)
    optimizer = make_optimizer(params, lr=1e-3)
    return seconds(optimizer.step, device, 10)


def matmul_flops(n_samples_train: int, n_val: int, layers: list[tuple[int, int, int]]) -> float:
    """FLOPs of the matmuls an epoch must do: forward + weight gradient of every layer and input
    gradient of all but the first (the data need no gradient) per training sample, forward per
    validation sample; a layer (in, out, k) runs on k rows per sample.
    """
    macs = [i * o * k for i, o, k in layers]
    return 2 * (n_samples_train * (3 * sum(macs) - macs[0]) + n_val * sum(macs))


def layer_products_seconds(
    members: int,
    batch: int,
    n_val: int,
    steps: int,
    n_in: int,
    n_out: int,
    input_gradient: bool,
    device: torch.device,
) -> float:
    """Seconds per epoch of one stacked layer's batched products: per step its forward, weight
    gradient and (unless it is the first layer) input gradient; per epoch, the validation forward.
    """
    x, dy = (
        torch.randn(members, batch, n_in, device=device),
        torch.randn(members, batch, n_out, device=device),
    )
    w, xv = (
        torch.randn(members, n_in, n_out, device=device),
        torch.randn(members, n_val, n_in, device=device),
    )
    per_step = seconds(lambda: torch.bmm(x, w), device, 10) + seconds(
        lambda: torch.bmm(x.transpose(1, 2), dy), device, 10
    )
    if input_gradient:
        per_step += seconds(lambda: torch.bmm(dy, w.transpose(1, 2)), device, 10)
    return steps * per_step + seconds(lambda: torch.bmm(xv, w), device, 5)


def ensemble_products_seconds(
    members: int,
    batch: int,
    n_val: int,
    steps: int,
    layers: list[tuple[int, int, int]],
    device: torch.device,
) -> float:
    """Seconds per model-epoch of the ensemble's batched products at their own shapes (k rows per
    sample).
    """
    return (
        sum(
            layer_products_seconds(members, batch * k, n_val * k, steps, i, o, position > 0, device)
            for position, (i, o, k) in enumerate(layers)
        )
        / members
    )


def first_layer_seconds(
    members: int, batch: int, n_genes: int, hidden: int, device: torch.device, grouped: bool
) -> float:
    """One step's first-layer products for ``members`` runs sharing their minibatch: forward and
    weight gradient, per member (batched, as the ensemble) or grouped (one product, weights side by
    side).
    """
    x = torch.randn(batch, n_genes, device=device)
    grad_out = torch.randn(members, batch, hidden, device=device)
    if grouped:
        w = torch.randn(n_genes, members * hidden, device=device)
        g = grad_out.permute(1, 0, 2).reshape(batch, members * hidden)
        return seconds(lambda: (x @ w, x.T @ g), device, 20)
    w = torch.randn(members, n_genes, hidden, device=device)
    xs = x.expand(members, batch, n_genes)
    return seconds(lambda: (torch.bmm(xs, w), torch.bmm(xs.transpose(1, 2), grad_out)), device, 20)


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--members", type=int, default=10, help="runs in the ensemble (and in the plain loop)"
    )
    parser.add_argument(
        "--epochs", type=int, default=10, help="epochs per run (few epochs weigh set-up more)"
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--model", default="VanillaVAE", help="IWAE's decoder products count its K passes"
    )
    parser.add_argument("--denormals", default="keep", help="keep, or flush subnormal floats (CPU)")
    args = parser.parse_args()
    device = torch.device(args.device)
    data = prepare(make_synthetic(), top_genes=5000)  # 800 training, 200 validation samples
    cfg = SweepConfig.from_mapping(
        {
            "models": args.model,
            "inits": "xavier_uniform",
            "depths": "1",
            "repeats": args.members,
            "epochs": args.epochs,
            "patience": args.epochs,
            "top_genes": 5000,
            "hidden_dims": "512",
            "latent_dim": 50,
            "batch_size": 64,
            "denormals": args.denormals,
        }
    )
    specs = cfg.runs()
    model = specs[0].build_model(data.n_genes).to(device)
    k = getattr(model, "iwae_k", 1)  # decoder passes per input
    layers = [(data.n_genes, 512, 1), (512, 100, 1), (50, 512, k), (512, data.n_genes, k)]
    peak = matmul_peak(device)
    work = flops_per_model_epoch(data.n_train, data.n_val, layers)
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

    worst = max(
        abs(a.history[0].train_loss - b.history[0].train_loss) / abs(a.history[0].train_loss)
        for a, b in zip(plain, together)
    )
    print(
        f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, model "
        f"{args.model}, {args.members} runs x {args.epochs} epochs, {data.n_train} train / "
        f"{data.n_val} val samples, {data.n_genes} genes, hidden 512, latent 50, batch 64, "
        f"float32, {k} decoder pass(es) per input"
    )
    print(f"float32 matmul peak: {peak / 1e9:.1f} GFLOP/s")
    for name, seconds, mem in (
        ("plain loop", plain_s, plain_mem),
        ("ensemble", ensemble_s, ensemble_mem),
    ):
        rate = model_epochs / seconds
        print(
            f"{name:>10}: {seconds / model_epochs:.3f} s per model-epoch, {rate:.2f} "
            f"model-epochs/s, {work * rate / peak:.0%} of peak, peak memory {mem:.0f} MiB"
        )
    print(f"ensemble / plain speed ratio: {plain_s / ensemble_s:.2f}x")
    print(f"first-epoch training loss, largest relative difference: {worst:.1e}")

    steps = data.n_train // 64 + (data.n_train % 64 > 1)
    matmul_s = matmul_flops(data.n_train, data.n_val, layers) / peak
    adam_s = steps * adam_seconds(model, device, args.members) / args.members
    params = sum(p.numel() for p in model.parameters())
    bound = matmul_s + adam_s
    plain_per = plain_s / model_epochs
    print(
        f"roofline per model-epoch: matmuls {matmul_s:.3f} s at peak + Adam {adam_s:.3f} s "
        f"({steps} steps x {params / 1e6:.1f} M parameters; copy bandwidth "
        f"{copy_bandwidth(device) / 1e9:.1f} GB/s) = {bound:.3f} s; plain loop {plain_per:.3f} s, "
        f"ensemble {ensemble_s / model_epochs:.3f} s"
    )
    print(f"best possible ratio over the plain loop: {plain_per / bound:.2f}x (target 1.5x)")
    shaped = ensemble_products_seconds(args.members, 64, data.n_val, steps, layers, device) + adam_s
    print(
        f"with the ensemble's products timed at their own shapes: {shaped:.3f} s per model-epoch + "
        f"Adam = best possible {plain_per / shaped:.2f}x for an ensemble of {args.members} at "
        "batch 64"
    )
    lone = ensemble_products_seconds(1, 64, data.n_val, steps, layers, device)
    print(
        f"products per model-epoch at their own shapes: plain loop {lone:.3f} s "
        f"({matmul_s / lone:.0%} of peak), ensemble "
        f"{shaped - adam_s:.3f} s: the ensemble gains {lone / (shaped - adam_s):.2f}x on them"
    )
    batched = first_layer_seconds(args.members, 64, data.n_genes, 512, device, grouped=False)
    grouped = first_layer_seconds(args.members, 64, data.n_genes, 512, device, grouped=True)
    saved = steps * (batched - grouped) / args.members
    print(
        f"first layer per step, {args.members} members sharing a minibatch: batched "
        f"{batched * 1e3:.1f} ms, grouped {grouped * 1e3:.1f} ms; at most {saved:.3f} s saved per "
        f"model-epoch (ensemble would go {ensemble_s / model_epochs:.3f} -> "
        f"{ensemble_s / model_epochs - saved:.3f} s, "
        f"{plain_s / (ensemble_s - saved * model_epochs):.2f}x the plain loop)"
    )


if __name__ == "__main__":
    main()
