"""The trainers, by name (``--trainer``): each takes one architecture group's runs with their
prepared data (one per run: runs may have their own splits) and returns their results in order,
reporting every epoch through the same callback.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import torch

from initsens.data.prepare import PreparedData
from initsens.registry import Registry
from initsens.training.fit import train_ensemble, train_run
from initsens.training.record import EpochCallback, RunResult

if TYPE_CHECKING:
    from initsens.training.config import RunSpec

Trainer = Callable[
    [Sequence["RunSpec"], Sequence[PreparedData], torch.device, EpochCallback], list[RunResult]
]
TRAINERS: Registry[Trainer] = Registry("trainer")
#: Vectorized: runs of one architecture trained together as a stacked ensemble (the default).
TRAINERS.register("ensemble")(train_ensemble)


@TRAINERS.register("reference")
def reference_trainer(
    specs: Sequence[RunSpec],
    data: Sequence[PreparedData],
    device: torch.device,
    on_epoch: EpochCallback,
) -> list[RunResult]:
    """The plain trainer: the runs one after the other, the reference the ensemble is checked
    against.
    """
    return [train_run(spec, run_data, device, on_epoch) for spec, run_data in zip(specs, data)]
