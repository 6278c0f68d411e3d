"""Build a ready-to-train model by name: architecture, the model's hyperparameters, initializer,
seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from initsens.errors import InitsensError
from initsens.models.base import MODELS, VAE, Hyperparameter
from initsens.models.initializers import initialize
from initsens.models.networks import hidden_dims_for


def model_hyperparameters() -> dict[str, dict[str, object]]:
    """For each registered model, its own hyperparameters and their defaults."""
    return {
        name: {key: h.default for key, h in cls.hyperparameters().items()}
        for name, cls in MODELS.items()
    }


def declared_hyperparameters(*, own: bool = False) -> dict[str, Hyperparameter]:
    """Every hyperparameter the registered models declare (with ``own``, initsens's own models
    only), by name: the declaration of the first model, in registration order, that declares it.
    """
    out: dict[str, Hyperparameter] = {}
    for name, cls in MODELS.items():
        if not (own and MODELS.source(name)):
            out |= {key: h for key, h in cls.hyperparameters().items() if key not in out}
    return out


def build_model(
    name: str,
    n_genes: int,
    *,
    depth: int = 1,
    hidden_dims: Sequence[int] | None = None,
    latent_dim: int = 50,
    activation: str = "leaky_relu",
    initializer: str = "default",
    init_scope: str = "hidden",
    seed: int = 0,
    hyperparameters: Mapping[str, Any] | None = None,
) -> VAE:
    """A model of ``depth`` hidden layers with weights drawn by ``initializer`` from ``seed``.

    ``hyperparameters`` may hold keys for any registered model (e.g. ``kl_weight``, ``iwae_k``,
    ``info_alpha``, ``logcosh_a``): each model takes the ones it defines, so one flat configuration
    serves a whole sweep. A key that no model defines is an error.
    """
    cls = MODELS.get(name)
    hyperparameters = dict(hyperparameters or {})
    known = {key for params in model_hyperparameters().values() for key in params}
    unknown = sorted(set(hyperparameters) - known)
    if unknown:
        raise InitsensError(
            f"unknown model hyperparameter(s) {', '.join(unknown)}; valid: "
            f"{', '.join(sorted(known))}"
        )
    declared = cls.hyperparameters()
    arguments = (n_genes, hidden_dims_for(depth, hidden_dims), latent_dim, activation)
    given = {key: value for key, value in hyperparameters.items() if key in declared}
    if not MODELS.source(name):
        # initsens's own: built on the meta device (no memory, no default initialization), then
        # materialized and initialized once: initialize() sets every parameter and BatchNorm buffer
        with torch.device("meta"):
            model = cls(*arguments, **given)
        model = model.to_empty(device="cpu")
    else:
        # a model from outside may hold layers initialize() does not draw (embeddings, norms, raw
        # parameters): they keep PyTorch's own initialization, from a stream seeded by the run's
        # seed, so a seed still fixes them
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = cls(*arguments, **given)
    initialize(model, initializer, seed=seed, scope=init_scope)
    return model
