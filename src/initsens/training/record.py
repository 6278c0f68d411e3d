"""What a run produces: one record per epoch and the run's result, with the words used for its outcome.

The words of ``status`` and ``stopped`` are defined with the columns in :mod:`initsens.schema`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from initsens.schema import CAP, DIVERGED, EARLY, FAILED, FINISHED, OK, STATUSES, STOPPED  # noqa: F401

if TYPE_CHECKING:
    from initsens.training.config import RunSpec

#: on_epoch(active runs, epoch, lowest best validation loss among them): what every trainer reports after
#: each epoch (for progress displays).
EpochCallback = Callable[[Sequence["RunSpec"], int, float], Any]

#: Per-epoch validation quantities: the model's own objective and the common metrics.
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
    """Outcome of one run: status, how it stopped, the selected epoch's numbers, ARI and the history.

    ``best_epoch`` is the epoch of lowest validation loss; ``selected_epoch`` the one whose numbers are
    reported (the best, or the last under ``--select-epoch last``).
    """

    status: str = OK
    stopped: str = EARLY
    epochs_trained: int = 0
    best_epoch: int = 0
    selected_epoch: int = 0
    train_loss: float = math.nan
    val_loss: float = math.nan
    val_recon_mse: float = math.nan
    val_kl: float = math.nan
    val_nelbo: float = math.nan
    ari: float = math.nan
    wall_seconds: float = 0.0
    history: list[EpochRecord] = field(default_factory=list)

    @classmethod
    def failed(cls) -> RunResult:
        return cls(status=FAILED, stopped=FAILED)
