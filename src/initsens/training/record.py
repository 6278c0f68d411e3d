"""What a run produces: one record per epoch and the run's result, with the words used for its outcome.

``status`` says whether a run finished (``ok``), produced a non-finite loss (``diverged``) or crashed
(``failed``); ``stopped`` says how its training ended: ``early`` (early stopping), ``cap`` (it reached
``--epochs`` while still improving, so it is not converged), ``diverged`` or ``failed``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

#: Per-epoch validation quantities: the model's own objective and the common metrics.
METRICS = ("loss", "recon_mse", "kl", "nelbo")
OK, DIVERGED, FAILED = "ok", "diverged", "failed"
STATUSES = (OK, DIVERGED, FAILED)
#: Runs with these statuses are finished: a resumed sweep does not train them again.
FINISHED = (OK, DIVERGED)
EARLY, CAP = "early", "cap"
STOPPED = (EARLY, CAP, DIVERGED, FAILED)


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
