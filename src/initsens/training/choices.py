"""The values a setting with choices may take: each registry kind the settings table names
(``choices="models"``), with the registry or tuple that holds it, next to what it registers.
:class:`~initsens.training.SweepConfig` checks its values against them; the trainers, whose registry
sits above the configuration, are checked when a sweep is planned
(:func:`~initsens.training.sweep.plan_sweep`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import Field, fields
from typing import Any

from initsens.data.files import ORIENTATIONS
from initsens.data.genes import SELECTION_METHODS
from initsens.data.normalize import NORMALIZERS
from initsens.data.transform import TRANSFORMS
from initsens.models import ACTIVATIONS, INITIALIZERS, MODELS, SCOPES
from initsens.settings import check_choice
from initsens.training.clustering import CLUSTERINGS
from initsens.training.device import DEVICES

#: Registry kind -> its names now (a registry may grow: plugins register models and initializers).
REGISTRIES: dict[str, Callable[[], Sequence[str]]] = {
    "models": MODELS.names,
    "initializers": INITIALIZERS.names,
    "normalizations": NORMALIZERS.names,
    "activations": ACTIVATIONS.names,
    "init_scopes": lambda: SCOPES,
    "orientations": lambda: ORIENTATIONS,
    "transforms": lambda: list(TRANSFORMS),
    "gene_selections": lambda: SELECTION_METHODS,
    "clusterings": lambda: CLUSTERINGS,
    "devices": lambda: DEVICES,
}


def choices_of(f: Field) -> list[str]:
    """The allowed values of a setting with ``choices``: its own tuple, or its registry's names."""
    drawn = f.metadata["choices"]
    return list(drawn) if isinstance(drawn, tuple) else list(REGISTRIES[drawn]())


def check_registry_choices(settings: Any) -> None:
    """A one-line error for the first value of ``settings`` missing from the registry its row draws
    from.
    """
    for f in fields(settings):
        if f.metadata["choices"] in REGISTRIES:
            check_choice(f, getattr(settings, f.name), choices_of(f))
