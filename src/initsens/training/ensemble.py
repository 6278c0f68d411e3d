"""The vectorized trainer: runs that share an architecture train together as one stacked ensemble.

Members differ only in initializer, seed and possibly their train/validation split (``--split per-seed``:
each member then sees its own matrices, which must have the same shapes). Each keeps its own initial
weights, minibatch order,
sampling noise (its own generators, so its draws are those of the same run trained alone), BatchNorm
statistics and Adam state (Adam is elementwise, so one optimizer over stacked parameters is M
independent Adams). Each step sums the members' losses and takes one backward pass and one fused Adam
step. A member that early-stops or diverges is dropped from the stacks; its siblings go on.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from initsens.data.prepare import PreparedData
from initsens.models import VAE
from initsens.models.stacked import select_members, stack_models
from initsens.training.loop import RunTracker, batches, clustering_input, make_optimizer, precision, set_learning_rate
from initsens.training.memory import keep_freed_memory
from initsens.training.record import METRICS, EpochCallback, EpochRecord, RunResult, extra_metric_columns
from initsens.training.seeds import RunSeeds

if TYPE_CHECKING:
    from initsens.training.config import RunSpec



class _LazyEmbedding:
    """The members' embeddings of the samples to cluster, computed once on first use (only the members whose
    epoch is the one to report need it)."""

    def __init__(self, model: VAE, x: torch.Tensor, generators: list | None, arithmetic) -> None:
        self.model, self.x, self.generators, self.arithmetic = model, x, generators, arithmetic
        self.values: np.ndarray | None = None

    def __getitem__(self, member: int) -> np.ndarray:
        if self.values is None:
            with self.arithmetic():
                z = self.model.embed(self.x, self.generators, sample=self.generators is not None)
            self.values = z.float().cpu().numpy()
        return self.values[member]  # type: ignore[index]


def member_bytes(spec: RunSpec, n_genes: int, n_val: int, own_data_samples: int = 0) -> int:
    """Approximate memory of one ensemble member, calibrated on the benchmark (about 130 MB per member
    at 5,000 genes, 512 hidden, batch 64): parameters, gradients and Adam moments plus transient
    copies (~6x the parameter bytes), and activations of a training step and of the validation pass,
    which sees the whole validation split at once (~20 and ~6 floats per sample, sample draw and gene),
    plus its own copy of the data (``own_data_samples`` x genes) when members have their own splits."""
    cfg = spec.config
    dims = [n_genes, *spec.hidden_dims(), cfg.latent_dim]
    n_params = sum(a * b + b for a, b in zip(dims[:-1], dims[1:])) * 2 + cfg.latent_dim * dims[-2]
    draws = cfg.iwae_k if spec.model == "IWAE" else 1
    width = n_genes + sum(spec.hidden_dims())
    return 4 * (6 * n_params + 20 * cfg.batch_size * draws * width + 6 * n_val * draws * width
                + 2 * own_data_samples * n_genes)


class _Inputs:
    """The members' training, validation and clustering matrices: one copy when every member sees the same
    split, else stacked with a leading member axis (runs of a per-seed split training together)."""

    def __init__(self, datas: Sequence[PreparedData], cfg, device: torch.device) -> None:
        if len({(d.n_train, d.n_val, d.n_genes) for d in datas}) != 1:
            raise ValueError("ensemble members need splits of equal sizes and as many genes")
        self.shared = all(d is datas[0] for d in datas)
        chosen = datas[:1] if self.shared else datas

        def tensor(values) -> torch.Tensor:
            array = values[0] if self.shared else np.stack(values)
            return torch.from_numpy(np.ascontiguousarray(array)).to(device)

        self.train = tensor([d.X_train for d in chosen])
        self.val = tensor([d.X_val for d in chosen])
        self.embed = tensor([clustering_input(d, cfg)[0] for d in chosen])
        self.labels = [clustering_input(d, cfg)[1] for d in datas]

    def batch(self, members: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """(members, batch, genes): row ``idx[i]`` of member ``members[i]``'s training split."""
        return self.train[idx] if self.shared else self.train[members[:, None], idx]

    def whole(self, x: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
        """All of ``x`` (validation or clustering input) for each of ``members``."""
        return x.expand(len(members), -1, -1) if self.shared else x[members]


def train_ensemble(
    specs: Sequence[RunSpec],
    data: PreparedData | Sequence[PreparedData],
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> list[RunResult]:
    """Train runs of one architecture together; ``data`` is shared or one per run (its own split).
    Results come back in the order of ``specs``."""
    cfg = specs[0].config
    start = time.perf_counter()
    if device.type == "cpu":
        keep_freed_memory()
    datas = list(data) if isinstance(data, Sequence) else [data] * len(specs)
    inputs = _Inputs(datas, cfg, device)
    n_train, n_val = datas[0].n_train, datas[0].n_val
    seeds = [RunSeeds.from_seed(spec.seed) for spec in specs]
    ensemble = stack_models([spec.build_model(datas[0].n_genes) for spec in specs]).to(device)
    optimizer = make_optimizer(ensemble.parameters(), cfg.lr)
    orders = [seed.order_rng() for seed in seeds]
    noises = [seed.noise_generator(device) for seed in seeds]
    trackers = [RunTracker(cfg) for _ in specs]
    walls = [0.0] * len(specs)
    active = list(range(len(specs)))  # member index -> position in specs
    members = torch.arange(len(specs), device=device)

    for epoch in range(1, cfg.epochs + 1):
        set_learning_rate(optimizer, cfg, epoch)
        ensemble.train()
        ensemble.use_split(n_train, cfg.batch_size)
        plans = [batches(n_train, cfg.batch_size, orders[m], cfg.drop_last) for m in active]
        total, count = torch.zeros(len(active), device=device), 0
        for step in range(len(plans[0])):
            idx = torch.from_numpy(np.stack([plan[step] for plan in plans])).to(device)
            optimizer.zero_grad(set_to_none=True)
            with precision(cfg, device):
                out = ensemble(inputs.batch(members, idx), [noises[m] for m in active])
            out.loss.sum().backward()
            optimizer.step()
            total += out.loss.detach() * idx.shape[1]
            count += idx.shape[1]
        ensemble.eval()
        ensemble.use_split(n_val, cfg.batch_size)
        with torch.no_grad(), precision(cfg, device):
            val = ensemble(inputs.whole(inputs.val, members), [seeds[m].val_noise_generator(device) for m in active])
            train_loss = (total / count).cpu().tolist()
            columns = [getattr(val, m).cpu().tolist() for m in METRICS]
            extra = extra_metric_columns(val.extra_metrics)
        sampled = [seeds[m].embed_generator(device) for m in active] if cfg.clustering == "leiden" else None
        embeddings = _LazyEmbedding(ensemble, inputs.whole(inputs.embed, members), sampled,
                                    lambda: precision(cfg, device))
        for i, m in enumerate(active):
            record = EpochRecord.from_values(epoch, train_loss[i], [column[i] for column in columns],
                                             {name: values[i] for name, values in extra.items()})
            trackers[m].record(record, functools.partial(embeddings.__getitem__, i))
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
            members = torch.tensor(active, device=device)
    return [tracker.result(labels, spec.seed, wall)
            for tracker, spec, wall, labels in zip(trackers, specs, walls, inputs.labels)]
