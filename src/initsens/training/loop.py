"""What every trainer shares: minibatches, the optimizer and its learning-rate schedule, early
stopping, and the bookkeeping of one run (:class:`RunTracker`).

A trainer calls, per epoch: :func:`set_learning_rate`, :func:`batches` for its minibatches, then
:meth:`RunTracker.record` with the epoch's validation numbers and a callable that embeds the samples
to cluster, and stops the run when ``record`` returns False.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from initsens.training.clustering import adjusted_rand
from initsens.training.record import (
    CAP,
    DIVERGED,
    EARLY,
    OK,
    SELECTED_NUMBERS,
    EpochRecord,
    RunResult,
)


class EarlyStopping:
    """Track the best validation loss; ``stop`` turns true after ``patience`` epochs without
    improvement.
    """

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
        """Whether early stopping ends the run now."""
        return self.wait >= self.patience


class RunTracker:
    """One run's bookkeeping, shared by every trainer: history, early stopping (not before
    ``min_epochs``), divergence, the epoch cap, and the embedding of the selected epoch (the best,
    or the last) for the adjusted Rand index.
    """

    def __init__(self, config) -> None:
        self.config = config
        self.stopper = EarlyStopping(config.patience, config.min_delta)
        self.history: list[EpochRecord] = []
        self.status, self.stopped = OK, EARLY
        self.best: EpochRecord | None = None
        self.embedding: np.ndarray | None = None
        self.active = True

    def record(self, record: EpochRecord, embed: Callable[[], np.ndarray]) -> bool:
        """Add an epoch; ``embed()`` is called only when this epoch is the one to report. Returns
        whether to go on.
        """
        cfg = self.config
        self.history.append(record)
        if not (math.isfinite(record.train_loss) and math.isfinite(record.val_loss)):
            self.status = self.stopped = DIVERGED
            self.active = False
            return False
        improved = self.stopper.update(record.val_loss, record.epoch)
        if improved:
            self.best = record
        early = self.stopper.stop and record.epoch >= cfg.min_epochs
        if record.epoch >= cfg.epochs and not early:
            self.stopped = CAP
        self.active = not early and record.epoch < cfg.epochs
        if (cfg.select_epoch == "best" and improved) or (
            cfg.select_epoch == "last" and not self.active
        ):
            self.embedding = embed()
        return self.active

    def selected(self) -> EpochRecord | None:
        """The epoch whose numbers are reported: the best, or the last under
        ``--select-epoch last``.
        """
        if self.config.select_epoch == "last":
            return self.history[-1] if self.status == OK and self.history else None
        return self.best

    def result(self, labels: np.ndarray | None, seed: int, wall_seconds: float) -> RunResult:
        """The run's result: status, how it stopped, the selected epoch's numbers and its ARI."""
        result = RunResult(
            status=self.status,
            stopped=self.stopped,
            epochs_trained=len(self.history),
            history=self.history,
            wall_seconds=wall_seconds,
        )
        chosen = self.selected()
        if self.best is not None:
            result.best_epoch = self.best.epoch
        if chosen is not None:
            result.selected_epoch = chosen.epoch
            for name in SELECTED_NUMBERS:  # the selected epoch's numbers, by their shared names
                setattr(result, name, getattr(chosen, name))
            if self.embedding is not None:
                result.ari = adjusted_rand(self.embedding, labels, seed, self.config.clustering)
        return result


@contextlib.contextmanager
def precision(config, device: torch.device) -> Iterator[None]:
    """The arithmetic of forward passes: ``fp32`` (strict), ``bf16`` (autocast: matrix products in
    bfloat16, reductions and the loss in float32) or ``tf32`` (CUDA matrix products in
    TensorFloat-32).
    """
    if config.precision == "bf16":
        with torch.autocast(device.type, dtype=torch.bfloat16):
            yield
    elif config.precision == "tf32":
        previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous
    else:
        yield


def denormals(config, device_type: str) -> str:
    """What a fit on ``device_type`` does with subnormal floats (the runs column ``denormals``):
    ``flush`` where the setting asks for it on the CPU, else ``keep`` (GPUs compute subnormals at
    full speed).
    """
    return "flush" if config.denormals == "flush" and device_type == "cpu" else "keep"


@contextlib.contextmanager
def subnormals(config, device: torch.device) -> Iterator[None]:
    """Subnormal floats while a fit runs: kept (IEEE) or, with ``denormals = "flush"`` on the CPU,
    flushed to zero (the FTZ/DAZ flags; x86 and ARM CPUs take a slow path on every subnormal
    operand, GPUs do not).
    """
    flush = denormals(config, device.type) == "flush"
    if flush:
        torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if flush:
            torch.set_flush_denormal(False)


def make_optimizer(params, **adam: Any) -> torch.optim.Optimizer:
    """Adam with ``adam``'s arguments (lr, ...), fused where this torch build and device support it
    (fewer passes over memory).
    """
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **adam)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, **adam)


def set_learning_rate(optimizer: torch.optim.Optimizer, config, epoch: int) -> None:
    """Exponential decay per epoch (PyTorch's ExponentialLR): lr * lr_decay^(epoch - 1); constant at
    decay 1.
    """
    for group in optimizer.param_groups:
        group["lr"] = config.lr * config.lr_decay ** (epoch - 1)


def batches(
    n: int, batch_size: int, order: np.random.Generator, drop_last: bool = False
) -> list[np.ndarray]:
    """A shuffled epoch's minibatch indices. A trailing batch of one sample is always dropped
    (BatchNorm needs two); with ``drop_last`` any trailing batch smaller than ``batch_size`` is
    (PyTorch's DataLoader).
    """
    perm = order.permutation(n)
    smallest = _smallest_batch(batch_size, drop_last)
    return [
        perm[i : i + batch_size]
        for i in range(0, n, batch_size)
        if len(perm[i : i + batch_size]) >= smallest
    ]


def _smallest_batch(batch_size: int, drop_last: bool) -> int:
    return batch_size if drop_last else 2


def batch_count(n: int, batch_size: int, drop_last: bool = False) -> int:
    """How many minibatches :func:`batches` makes of ``n`` samples: an epoch's optimizer steps (one
    pass).
    """
    full, rest = divmod(n, batch_size)
    return full + int(rest >= _smallest_batch(batch_size, drop_last))


class MinibatchStream:
    """One run's minibatches, epoch after epoch, drawn from its own order stream.

    With ``epoch_steps`` 0 an epoch is one shuffled pass over the training split (:func:`batches`).
    With ``epoch_steps`` N an epoch is the next N minibatches of consecutive passes, each pass
    shuffled afresh: the schedules counted in epochs (validation, early stopping, ``--min-epochs``,
    ``--epochs``, ``--lr-decay``) then count optimizer steps as a study on a larger dataset did (an
    epoch of the original study's Pan-Cancer data was 138 steps; one of tcga5 is 3).
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        order: np.random.Generator,
        drop_last: bool = False,
        epoch_steps: int = 0,
    ) -> None:
        self.n, self.batch_size, self.order, self.drop_last = n, batch_size, order, drop_last
        self.epoch_steps = epoch_steps
        self.pending: list[np.ndarray] = []

    def epoch(self) -> list[np.ndarray]:
        """The next epoch's minibatch indices."""
        if not self.epoch_steps:
            return batches(self.n, self.batch_size, self.order, self.drop_last)
        while len(self.pending) < self.epoch_steps:
            passed = batches(self.n, self.batch_size, self.order, self.drop_last)
            if not passed:
                raise ValueError(
                    f"{self.n} training samples give no minibatch of {self.batch_size}"
                )
            self.pending += passed
        out, self.pending = self.pending[: self.epoch_steps], self.pending[self.epoch_steps :]
        return out


def clustering_input(data, config) -> tuple[np.ndarray, np.ndarray | None]:
    """The samples whose embedding is clustered and their labels: the validation split (``kmeans``)
    or every sample (``leiden``, as the original study did).
    """
    if config.clustering == "leiden":
        return data.X_all, data.labels_all
    return data.X_val, data.labels_val
