"""VAE models for tabular expression: networks, objectives, initializers and the model registry.

The objectives, initializers and your own models: the docs' :doc:`Models </guide/models>` and
:doc:`Your own model and initializer </guide/own-model>` pages. Typical use::

    from initsens.models import build_model
    model = build_model("IWAE", n_genes=5000, depth=2, initializer="xavier_normal", seed=0)
    out = model(x_batch)  # LossOutput: loss, recon_mse, kl, nelbo, extra_metrics (IWAE: ess)
    out.loss.backward()
"""

# Registration order is the default sweep order: VanillaVAE, IWAE, InfoVAE, LogCoshVAE.
from initsens.models import vanilla, iwae, infovae, logcosh  # noqa: F401  isort: skip
from initsens.models.base import MODELS, VAE, Hyperparameter, LossOutput, Objective
from initsens.models.factory import build_model, declared_hyperparameters, model_hyperparameters
from initsens.models.initializers import INITIALIZERS, SCOPES, initialize
from initsens.models.networks import ACTIVATIONS, hidden_dims_for
from initsens.models.objectives import KERNELS
from initsens.models.plugins import register_initializer, register_model, stackable

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "KERNELS",
    "MODELS",
    "SCOPES",
    "VAE",
    "Hyperparameter",
    "LossOutput",
    "Objective",
    "build_model",
    "declared_hyperparameters",
    "hidden_dims_for",
    "initialize",
    "model_hyperparameters",
    "register_initializer",
    "register_model",
    "stackable",
]
