"""The plain trainer: one run at a time, the reference every faster trainer is checked against.

Per epoch: set the learning rate (``--lr-decay``), shuffle the training split with the run's order
stream, take Adam steps on minibatches, then evaluate the same objective on the whole validation split
in eval mode with a fixed noise stream, so epochs are compared on equal terms. Under ``--kl-weight mn``
the model is told which split it sees (batch size / split size). :class:`~initsens.training.loop.RunTracker`
handles early stopping, divergence, the cap and the epoch to report.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import torch

from initsens.data.prepare import PreparedData
from initsens.models import VAE
from initsens.training.loop import RunTracker, batches, clustering_input, make_optimizer, precision, set_learning_rate
from initsens.training.record import METRICS, EpochCallback, EpochRecord, RunResult, extra_metric_columns
from initsens.training.seeds import RunSeeds

if TYPE_CHECKING:
    from initsens.training.config import RunSpec


@torch.no_grad()
def evaluate(model: VAE, X: torch.Tensor, generator: torch.Generator,
             batch_size: int) -> tuple[tuple[float, ...], dict[str, float]]:
    """The objective and common metrics on the whole of ``X``, in eval mode, and the model's own metrics."""
    model.eval()
    model.use_split(X.shape[-2], batch_size)
    out = model(X, generator)
    extra = {name: values[0] for name, values in extra_metric_columns(out.extra_metrics).items()}
    return tuple(float(getattr(out, m)) for m in METRICS), extra


def train_run(
    spec: RunSpec,
    data: PreparedData,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> RunResult:
    """Train one run of the grid from scratch and return its result.

    ``on_epoch([spec], epoch, best_val_loss)`` is called after every epoch (for progress displays), the
    same callback as the ensemble trainer's.
    """
    cfg = spec.config
    seeds = RunSeeds.from_seed(spec.seed)
    start = time.perf_counter()
    model = spec.build_model(data.n_genes).to(device)
    optimizer = make_optimizer(model.parameters(), cfg.lr)
    X_train = torch.from_numpy(data.X_train).to(device)
    X_val = torch.from_numpy(data.X_val).to(device)
    embed_input, labels = clustering_input(data, cfg)
    X_embed = torch.from_numpy(embed_input).to(device)
    order, noise = seeds.order_rng(), seeds.noise_generator(device)
    tracker = RunTracker(cfg)

    def embed():
        with precision(cfg, device):
            z = model.embed(X_embed, seeds.embed_generator(device), sample=cfg.clustering == "leiden")
        return z.float().cpu().numpy()

    for epoch in range(1, cfg.epochs + 1):
        set_learning_rate(optimizer, cfg, epoch)
        model.train()
        model.use_split(data.n_train, cfg.batch_size)
        total, count = torch.zeros((), device=device), 0
        for idx in batches(data.n_train, cfg.batch_size, order, cfg.drop_last):
            optimizer.zero_grad(set_to_none=True)
            with precision(cfg, device):
                out = model(X_train[torch.from_numpy(idx).to(device)], noise)
            out.loss.backward()
            optimizer.step()
            total += out.loss.detach() * len(idx)
            count += len(idx)
        with precision(cfg, device):
            metrics, extra = evaluate(model, X_val, seeds.val_noise_generator(device), cfg.batch_size)
        record = EpochRecord.from_values(epoch, float(total) / count, metrics, extra)
        going_on = tracker.record(record, embed)
        if on_epoch is not None:
            on_epoch([spec], epoch, tracker.stopper.best)
        if not going_on:
            break
    return tracker.result(labels, spec.seed, time.perf_counter() - start)
