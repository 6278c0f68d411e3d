"""What a run produces: one record per epoch and the run's result, with the words used for its
outcome.

The words of ``status`` and ``stopped`` are defined with the columns in
:mod:`initsens.results.schema`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from initsens.results.schema import (  # noqa: F401
    CAP,
    DIVERGED,
    EARLY,
    FAILED,
    FINISHED,
    METRICS,
    OK,
    STATUSES,
    STOPPED,
    VALIDATION_COLUMNS,
)

if TYPE_CHECKING:
    from initsens.training.config import RunSpec

#: on_epoch(active runs, epoch, lowest best validation loss among them): what every trainer reports
#: after each epoch (for progress displays).
EpochCallback = Callable[[Sequence["RunSpec"], int, float], Any]

#: What a run reports from its selected epoch: fields of both :class:`EpochRecord` and
#: :class:`RunResult`.
SELECTED_NUMBERS = ("train_loss", *VALIDATION_COLUMNS)


def extra_metric_columns(extra_metrics: Mapping[str, Any]) -> dict[str, list[float]]:
    """A model's own validation metrics (``LossOutput.extra_metrics``: a scalar, or one value per
    ensemble member) as ``val_<name>`` -> values, the names they carry in the ``metrics`` table.
    """
    return {f"val_{name}": value.reshape(-1).tolist() for name, value in extra_metrics.items()}


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of one run (mean training objective; validation objective, common metrics and the
    model's own metrics, ``val_<name>`` -> value).
    """

    epoch: int
    train_loss: float
    val_loss: float
    val_recon_mse: float
    val_kl: float
    val_nelbo: float
    extra_metrics: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_values(
        cls,
        epoch: int,
        train_loss: float,
        values: Sequence[float],
        extra_metrics: Mapping[str, float],
    ) -> EpochRecord:
        """The record of validation ``values`` given in the order of :data:`METRICS`."""
        val_loss, val_recon_mse, val_kl, val_nelbo = values
        return cls(
            epoch=epoch,
            train_loss=train_loss,
            val_loss=val_loss,
            val_recon_mse=val_recon_mse,
            val_kl=val_kl,
            val_nelbo=val_nelbo,
            extra_metrics=extra_metrics,
        )

    def epochs_row(self, run_id: str) -> dict[str, Any]:
        """The epoch's row of the ``epochs`` table."""
        row = {"run_id": run_id, **asdict(self)}
        del row["extra_metrics"]
        return row

    def metrics_rows(self, run_id: str) -> list[dict[str, Any]]:
        """The epoch's rows of the ``metrics`` table (one per metric of the model's own)."""
        return [
            {"run_id": run_id, "epoch": self.epoch, "metric": name, "value": value}
            for name, value in self.extra_metrics.items()
        ]


@dataclass
class RunResult:
    """Outcome of one run: status, how it stopped, the selected epoch's numbers, ARI and the
    history.

    ``best_epoch`` is the epoch of lowest validation loss; ``selected_epoch`` the one whose numbers
    are reported (the best, or the last under ``--select-epoch last``).
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
        """The result of a run that crashed."""
        return cls(status=FAILED, stopped=FAILED)
