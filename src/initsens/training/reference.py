"""The plain trainer: one run at a time, the reference every faster trainer is checked against.

Per epoch: shuffle the training split with the run's order stream, take Adam steps on minibatches
(a last minibatch of a single sample is skipped: BatchNorm needs two), then evaluate the same
objective on the whole validation split in eval mode with a fixed noise stream, so epochs are
compared on equal terms. Early stopping keeps the epoch with the lowest validation loss (an
improvement must exceed ``min_delta``) and stops after ``patience`` epochs without one. A
non-finite training or validation loss ends the run with status ``diverged``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from initsens.data.prepare import PreparedData
from initsens.models import VAE
from initsens.training.config import RunSpec
from initsens.training.seeds import RunSeeds

METRICS = ("loss", "recon_mse", "kl", "nelbo")


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of one run (mean training objective; validation objective and common metrics)."""

    epoch: int
    train_loss: float
    val_loss: float
    val_recon_mse: float
    val_kl: float
    val_nelbo: float


@dataclass
class RunResult:
    """Outcome of one run: status, the best epoch's numbers, ARI and the per-epoch history."""

    status: str = "ok"
    epochs_trained: int = 0
    best_epoch: int = 0
    train_loss: float = math.nan
    val_loss: float = math.nan
    val_recon_mse: float = math.nan
    val_kl: float = math.nan
    val_nelbo: float = math.nan
    ari: float = math.nan
    wall_seconds: float = 0.0
    history: list[EpochRecord] = field(default_factory=list)


class EarlyStopping:
    """Track the best validation loss; ``stop`` turns true after ``patience`` epochs without improvement."""

    def __init__(self, patience: int, min_delta: float) -> None:
        self.patience, self.min_delta = patience, min_delta
        self.best, self.best_epoch, self.wait = math.inf, 0, 0

    def update(self, value: float, epoch: int) -> bool:
        """Record an epoch's validation loss; True when it is the new best."""
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            return True
        self.wait += 1
        return False

    @property
    def stop(self) -> bool:
        return self.wait >= self.patience


class RunTracker:
    """One run's bookkeeping, shared by every trainer: history, early stopping, divergence, and the
    validation embedding at the best epoch (for the adjusted Rand index)."""

    def __init__(self, patience: int, min_delta: float) -> None:
        self.stopper = EarlyStopping(patience, min_delta)
        self.history: list[EpochRecord] = []
        self.status = "ok"
        self.best: EpochRecord | None = None
        self.best_embedding: np.ndarray | None = None
        self.active = True

    def record(self, record: EpochRecord, embed: Callable[[], np.ndarray]) -> bool:
        """Add an epoch; ``embed()`` is called only when it is the new best. Returns whether to go on."""
        self.history.append(record)
        if not (math.isfinite(record.train_loss) and math.isfinite(record.val_loss)):
            self.status, self.active = "diverged", False
        elif self.stopper.update(record.val_loss, record.epoch):
            self.best, self.best_embedding = record, embed()
        self.active = self.active and not self.stopper.stop
        return self.active

    def result(self, labels: np.ndarray | None, seed: int, wall_seconds: float) -> RunResult:
        result = RunResult(status=self.status, epochs_trained=len(self.history), history=self.history,
                           wall_seconds=wall_seconds)
        if self.best is not None:
            best = self.best
            result.best_epoch, result.train_loss, result.val_loss = best.epoch, best.train_loss, best.val_loss
            result.val_recon_mse, result.val_kl, result.val_nelbo = best.val_recon_mse, best.val_kl, best.val_nelbo
            result.ari = adjusted_rand(self.best_embedding, labels, seed)
        return result


def make_optimizer(params, lr: float) -> torch.optim.Optimizer:
    """Adam, fused where this torch build and device support it (fewer passes over memory)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr)


def batches(n: int, batch_size: int, order: np.random.Generator) -> list[np.ndarray]:
    """A shuffled epoch's minibatch indices; a trailing batch of one sample is dropped (BatchNorm)."""
    perm = order.permutation(n)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size) if len(perm[i:i + batch_size]) >= 2]


@torch.no_grad()
def evaluate(model: VAE, X: torch.Tensor, generator: torch.Generator) -> tuple[float, ...]:
    """The objective and common metrics on the whole of ``X``, in eval mode."""
    model.eval()
    out = model(X, generator)
    return tuple(float(getattr(out, m)) for m in METRICS)


def adjusted_rand(embedding: np.ndarray, labels: np.ndarray | None, seed: int) -> float:
    """ARI between k-means clusters of the embedding (k = number of cancer types) and the labels."""
    if labels is None or not np.isfinite(embedding).all():
        return math.nan
    k = len(set(labels.tolist()))
    if k < 2 or len(labels) <= k:
        return math.nan
    clusters = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embedding.astype(np.float64))
    return float(adjusted_rand_score(labels, clusters))


def train_run(
    spec: RunSpec,
    data: PreparedData,
    device: torch.device,
    on_epoch: Callable[[EpochRecord, float], None] | None = None,
) -> RunResult:
    """Train one run of the grid from scratch and return its result.

    ``on_epoch(record, best_val_loss)`` is called after every epoch (for progress displays).
    """
    cfg = spec.config
    seeds = RunSeeds.from_seed(spec.seed)
    start = time.perf_counter()
    model = spec.build_model(data.n_genes).to(device)
    optimizer = make_optimizer(model.parameters(), cfg.lr)
    X_train = torch.from_numpy(data.X_train).to(device)
    X_val = torch.from_numpy(data.X_val).to(device)
    order, noise = seeds.order_rng(), seeds.noise_generator(device)
    tracker = RunTracker(cfg.patience, cfg.min_delta)

    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total, count = torch.zeros((), device=device), 0
        for idx in batches(data.n_train, cfg.batch_size, order):
            optimizer.zero_grad(set_to_none=True)
            out = model(X_train[torch.from_numpy(idx).to(device)], noise)
            out.loss.backward()
            optimizer.step()
            total += out.loss.detach() * len(idx)
            count += len(idx)
        record = EpochRecord(epoch, float(total) / count,
                             *evaluate(model, X_val, seeds.val_noise_generator(device)))
        going_on = tracker.record(record, lambda: model.embed(X_val).cpu().numpy())
        if on_epoch is not None:
            on_epoch(record, tracker.stopper.best)
        if not going_on:
            break
    return tracker.result(data.labels_val, spec.seed, time.perf_counter() - start)
