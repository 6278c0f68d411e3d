"""The one training loop: M runs of one architecture trained together, a lone run being M = 1.

By default the runs train as one stacked network (:mod:`initsens.models.stacked`), each member with
its own weights, streams, BatchNorm statistics and Adam state; without ``stacked`` one run trains on
its plain model, the reference the stacked path is checked against. See the docs'
:doc:`Train a sweep </guide/train>` page.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from initsens.data.prepare import PreparedData
from initsens.models import MODELS, VAE
from initsens.models.stacked import select_members, stack_models
from initsens.training.loop import (
    MinibatchStream,
    RunTracker,
    clustering_input,
    make_optimizer,
    precision,
    set_learning_rate,
    subnormals,
)
from initsens.training.memory import keep_freed_memory
from initsens.training.record import (
    METRICS,
    EpochCallback,
    EpochRecord,
    RunResult,
    extra_metric_columns,
)
from initsens.training.seeds import RunSeeds

if TYPE_CHECKING:
    from initsens.training.config import RunSpec, SweepConfig


def n_parameters(spec: RunSpec, n_genes: int) -> int:
    """The Linear weights and biases of ``spec``'s encoder (with its two posterior heads) and
    decoder, about (the memory budget's and the time-left estimate's measure of a network's size).
    """
    dims = [n_genes, *spec.hidden_dims(), spec.config.latent_dim]
    return (
        sum(a * b + b for a, b in zip(dims[:-1], dims[1:])) * 2 + spec.config.latent_dim * dims[-2]
    )


def member_bytes(spec: RunSpec, n_genes: int, n_val: int, own_data_samples: int = 0) -> int:
    """Approximate memory of one ensemble member, calibrated on the benchmark (about 130 MB per
    member at 5,000 genes, 512 hidden, batch 64): parameters, gradients and Adam moments plus
    transient copies (~6x the parameter bytes), and activations of a training step and of the
    validation pass, which sees the whole validation split at once (~20 and ~6 floats per sample,
    sample draw and gene), plus its own copy of the data (``own_data_samples`` x genes) when members
    have their own splits.
    """
    cfg = spec.config
    n_params = n_parameters(spec, n_genes)
    draws = MODELS.get(spec.model).draws(spec.hyperparameters())
    width = n_genes + sum(spec.hidden_dims())
    return 4 * (
        6 * n_params
        + 20 * cfg.batch_size * draws * width
        + 6 * n_val * draws * width
        + 2 * own_data_samples * n_genes
    )


class _Inputs:
    """The members' training, validation and clustering matrices: one copy when every member sees
    the same split, else stacked with a leading member axis (runs of a per-seed split training
    together). A lone plain model (``stacked`` False) gets its matrices without a member axis.
    """

    def __init__(
        self, datas: Sequence[PreparedData], cfg: SweepConfig, device: torch.device, stacked: bool
    ) -> None:
        if len({(d.n_train, d.n_val, d.n_genes) for d in datas}) != 1:
            raise ValueError("ensemble members need splits of equal sizes and as many genes")
        self.stacked = stacked
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
        if not self.stacked:
            return self.train[idx[0]]
        return self.train[idx] if self.shared else self.train[members[:, None], idx]

    def whole(self, x: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
        """All of ``x`` (validation or clustering input) for each of ``members``."""
        if not self.stacked:
            return x
        return x.expand(len(members), -1, -1) if self.shared else x[members]


class _LazyEmbedding:
    """The members' embeddings of the samples to cluster, computed once on first use (only the
    members whose epoch is the one to report need it).
    """

    def __init__(self, model: VAE, x: torch.Tensor, generators, arithmetic) -> None:
        self.model, self.x, self.generators, self.arithmetic = model, x, generators, arithmetic
        self.values: np.ndarray | None = None

    def __getitem__(self, member: int) -> np.ndarray:
        if self.values is None:
            with self.arithmetic():
                z = self.model.embed(self.x, self.generators, sample=self.generators is not None)
            self.values = z.float().cpu().numpy().reshape(-1, *z.shape[-2:])
        return self.values[member]


def fit(
    specs: Sequence[RunSpec],
    data: PreparedData | Sequence[PreparedData],
    device: torch.device,
    on_epoch: EpochCallback | None = None,
    stacked: bool = True,
) -> list[RunResult]:
    """Train runs of one architecture together; ``data`` is shared or one per run (its own split).
    Results come back in the order of ``specs``. ``stacked`` False trains one run on its plain
    (unstacked) model.

    ``on_epoch(active specs, epoch, lowest best validation loss)`` is called after every epoch.
    """
    if not stacked and len(specs) != 1:
        raise ValueError("an unstacked model trains one run at a time")
    with subnormals(specs[0].config, device):
        return _fit(specs, data, device, on_epoch, stacked)


def _fit(
    specs: Sequence[RunSpec],
    data: PreparedData | Sequence[PreparedData],
    device: torch.device,
    on_epoch: EpochCallback | None,
    stacked: bool,
) -> list[RunResult]:
    """:func:`fit`'s work, under the run's handling of subnormal floats."""
    cfg = specs[0].config
    start = time.perf_counter()
    if device.type == "cpu":
        keep_freed_memory()
    datas = list(data) if isinstance(data, Sequence) else [data] * len(specs)
    inputs = _Inputs(datas, cfg, device, stacked)
    n_train, n_val = datas[0].n_train, datas[0].n_val
    mn_train, mn_val = cfg.mn_split(n_train, n_val)
    seeds = [RunSeeds.from_seed(spec.seed) for spec in specs]
    built = [spec.build_model(datas[0].n_genes) for spec in specs]
    model = (stack_models(built) if stacked else built[0]).to(device)
    optimizer = make_optimizer(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    streams = [
        MinibatchStream(n_train, cfg.batch_size, seed.order_rng(), cfg.drop_last, cfg.epoch_steps)
        for seed in seeds
    ]
    noises = [seed.noise_generator(device) for seed in seeds]
    trackers = [RunTracker(cfg) for _ in specs]
    walls = [0.0] * len(specs)
    active = list(range(len(specs)))  # member index -> position in specs
    members = torch.arange(len(specs), device=device)

    def generators(chosen: list) -> list | torch.Generator:
        return chosen if stacked else chosen[0]

    for epoch in range(1, cfg.epochs + 1):
        set_learning_rate(optimizer, cfg, epoch)
        model.train()
        model.use_split(mn_train, cfg.batch_size)
        plans = [streams[m].epoch() for m in active]
        total, count = torch.zeros(len(active), device=device), 0
        for step in range(len(plans[0])):
            idx = torch.from_numpy(np.stack([plan[step] for plan in plans])).to(device)
            optimizer.zero_grad(set_to_none=True)
            with precision(cfg, device):
                out = model(inputs.batch(members, idx), generators([noises[m] for m in active]))
            losses = out.loss.reshape(-1)
            losses.sum().backward()
            optimizer.step()
            total += losses.detach() * idx.shape[1]
            count += idx.shape[1]
        model.eval()
        model.use_split(mn_val, cfg.batch_size)
        with torch.no_grad(), precision(cfg, device):
            val = model(
                inputs.whole(inputs.val, members),
                generators([seeds[m].val_noise_generator(device) for m in active]),
            )
            train_loss = (total / count).cpu().tolist()
            columns = [getattr(val, m).reshape(-1).cpu().tolist() for m in METRICS]
            extra = extra_metric_columns(val.extra_metrics)
        sampled = (
            generators([seeds[m].embed_generator(device) for m in active])
            if cfg.clustering == "leiden"
            else None
        )
        embeddings = _LazyEmbedding(
            model, inputs.whole(inputs.embed, members), sampled, lambda: precision(cfg, device)
        )
        for i, m in enumerate(active):
            record = EpochRecord.from_values(
                epoch,
                train_loss[i],
                [column[i] for column in columns],
                {name: values[i] for name, values in extra.items()},
            )
            trackers[m].record(record, functools.partial(embeddings.__getitem__, i))
        elapsed = time.perf_counter() - start
        for m in active:
            walls[m] = elapsed
        if on_epoch is not None:
            on_epoch(
                [specs[m] for m in active], epoch, min(trackers[m].stopper.best for m in active)
            )
        keep = [i for i, m in enumerate(active) if trackers[m].active]
        if len(keep) < len(active):
            active = [active[i] for i in keep]
            if not active:
                break
            optimizer = select_members(model, torch.tensor(keep, device=device), optimizer)
            members = torch.tensor(active, device=device)
    return [
        tracker.result(labels, spec.seed, wall)
        for tracker, spec, wall, labels in zip(trackers, specs, walls, inputs.labels)
    ]


def train_ensemble(
    specs: Sequence[RunSpec],
    data: PreparedData | Sequence[PreparedData],
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> list[RunResult]:
    """Runs of one architecture trained together as a stacked ensemble (``--trainer ensemble``, the
    default).
    """
    return fit(specs, data, device, on_epoch)


def train_run(
    spec: RunSpec, data: PreparedData, device: torch.device, on_epoch: EpochCallback | None = None
) -> RunResult:
    """One run on its plain model, the reference the ensemble is checked against
    (``--trainer reference``).
    """
    return fit([spec], [data], device, on_epoch, stacked=False)[0]
