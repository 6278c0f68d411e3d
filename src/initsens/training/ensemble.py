"""The vectorized trainer: runs that share an architecture train together as one stacked ensemble.

Members differ only in initializer and seed. Each keeps its own initial weights, minibatch order,
sampling noise (its own generators, so its draws are those of the same run trained alone), BatchNorm
statistics and Adam state (Adam is elementwise, so one optimizer over stacked parameters is M
independent Adams). Each step sums the members' losses and takes one backward pass and one fused Adam
step. A member that early-stops or diverges is dropped from the stacks; its siblings go on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from initsens.data.prepare import PreparedData
from initsens.models.stacked import select_members, stack_models
from initsens.training.config import RunSpec
from initsens.training.memory import keep_freed_memory
from initsens.training.loop import RunTracker, batches, clustering_input, make_optimizer, set_learning_rate
from initsens.training.record import METRICS, EpochRecord, RunResult
from initsens.training.seeds import RunSeeds

#: on_epoch(active specs, epoch, lowest best validation loss among them)
EpochCallback = Callable[[Sequence[RunSpec], int, float], None]


class _LazyEmbedding:
    """The members' embeddings of the samples to cluster, computed once on first use (only the members whose
    epoch is the one to report need it)."""

    def __init__(self, model: torch.nn.Module, x: torch.Tensor, generators: list | None) -> None:
        self.model, self.x, self.generators, self.values = model, x, generators, None

    def __getitem__(self, member: int) -> np.ndarray:
        if self.values is None:
            self.values = self.model.embed(self.x, self.generators, sample=self.generators is not None).cpu().numpy()
        return self.values[member]


def member_bytes(spec: RunSpec, n_genes: int, n_val: int) -> int:
    """Approximate memory of one ensemble member, calibrated on the benchmark (about 130 MB per member
    at 5,000 genes, 512 hidden, batch 64): parameters, gradients and Adam moments plus transient
    copies (~6x the parameter bytes), and activations of a training step and of the validation pass,
    which sees the whole validation split at once (~20 and ~6 floats per sample, sample draw and gene)."""
    cfg = spec.config
    dims = [n_genes, *spec.hidden_dims(), cfg.latent_dim]
    n_params = sum(a * b + b for a, b in zip(dims[:-1], dims[1:])) * 2 + cfg.latent_dim * dims[-2]
    draws = cfg.iwae_k if spec.model == "IWAE" else 1
    width = n_genes + sum(spec.hidden_dims())
    return 4 * (6 * n_params + 20 * cfg.batch_size * draws * width + 6 * n_val * draws * width)


def train_ensemble(
    specs: Sequence[RunSpec],
    data: PreparedData,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> list[RunResult]:
    """Train runs of one architecture group together; results come back in the order of ``specs``."""
    cfg = specs[0].config
    start = time.perf_counter()
    if device.type == "cpu":
        keep_freed_memory()
    seeds = [RunSeeds.from_seed(spec.seed) for spec in specs]
    ensemble = stack_models([spec.build_model(data.n_genes) for spec in specs]).to(device)
    optimizer = make_optimizer(ensemble.parameters(), cfg.lr)
    X_train = torch.from_numpy(data.X_train).to(device)
    X_val = torch.from_numpy(data.X_val).to(device)
    X_embed, labels = clustering_input(data, cfg)
    X_embed = torch.from_numpy(X_embed).to(device)
    orders = [seed.order_rng() for seed in seeds]
    noises = [seed.noise_generator(device) for seed in seeds]
    trackers = [RunTracker(cfg) for _ in specs]
    walls = [0.0] * len(specs)
    active = list(range(len(specs)))  # member index -> position in specs

    for epoch in range(1, cfg.epochs + 1):
        set_learning_rate(optimizer, cfg, epoch)
        ensemble.train()
        ensemble.use_split(data.n_train, cfg.batch_size)
        plans = [batches(data.n_train, cfg.batch_size, orders[m], cfg.drop_last) for m in active]
        total, count = torch.zeros(len(active), device=device), 0
        for step in range(len(plans[0])):
            idx = torch.from_numpy(np.stack([plan[step] for plan in plans])).to(device)
            optimizer.zero_grad(set_to_none=True)
            out = ensemble(X_train[idx], [noises[m] for m in active])
            out.loss.sum().backward()
            optimizer.step()
            total += out.loss.detach() * idx.shape[1]
            count += idx.shape[1]
        ensemble.eval()
        ensemble.use_split(data.n_val, cfg.batch_size)
        with torch.no_grad():
            val = ensemble(X_val.expand(len(active), -1, -1), [seeds[m].val_noise_generator(device) for m in active])
            columns = [t.cpu().tolist() for t in (total / count, *(getattr(val, m) for m in METRICS))]
        sampled = [seeds[m].embed_generator(device) for m in active] if cfg.clustering == "leiden" else None
        embeddings = _LazyEmbedding(ensemble, X_embed.expand(len(active), -1, -1), sampled)
        for i, m in enumerate(active):
            record = EpochRecord(epoch, *(column[i] for column in columns))
            trackers[m].record(record, lambda i=i, e=embeddings: e[i])
        elapsed = time.perf_counter() - start
        for m in active:
            walls[m] = elapsed
        if on_epoch is not None:
            on_epoch([specs[m] for m in active], epoch, min(trackers[m].stopper.best for m in active))
        keep = [i for i, m in enumerate(active) if trackers[m].active]
        if len(keep) < len(active):
            active = [active[i] for i in keep]
            if not active:
                break
            optimizer = select_members(ensemble, torch.tensor(keep, device=device), optimizer)
    return [tracker.result(labels, spec.seed, wall)
            for tracker, spec, wall in zip(trackers, specs, walls)]
