"""IWAE (Burda, Grosse & Salakhutdinov 2016): the importance-weighted bound with K samples.

log w_k = log N(x; decoder(z_k), v I) + log N(z_k; 0, I) - log q(z_k | x),  z_k ~ q(z | x),
loss = -(logsumexp_k log w_k - log K), per sample.

``iwae_objective='pytorch-vae'`` is the original study's softmax weighting of sample losses, which
is not the IWAE bound (the docs' :doc:`Models </guide/models>` page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from initsens.errors import InitsensError
from initsens.models.base import MODELS, VAE, Objective
from initsens.models.objectives import (
    effective_sample_size,
    iwae_bound,
    iwae_log_weights,
    kl_standard_normal,
    pytorch_vae_iwae_loss,
    reparameterize,
)

OBJECTIVES = ("bound", "pytorch-vae")


@MODELS.register("IWAE")
class IWAE(VAE):
    """Importance-weighted autoencoder: the K-sample bound, or the original code's weighting (module
    docstring).
    """

    summary = "negative importance-weighted bound with K samples (Burda et al. 2016)"
    extra_metrics = {
        "ess": "effective sample size of the K normalized importance weights, (sum w)^2 / sum w^2, "
        "from 1 (one sample dominates) to K, mean over samples (iwae_objective='bound' only)"
    }

    def __init__(
        self,
        n_genes: int,
        hidden_dims: Sequence[int] = (512,),
        latent_dim: int = 50,
        activation: str = "leaky_relu",
        *,
        iwae_k: Annotated[int, "IWAE importance samples K."] = 5,
        iwae_objective: Annotated[
            str, "bound (the IWAE bound) or pytorch-vae (softmax weighting, not the bound)."
        ] = "bound",
        **shared: Any,
    ):
        super().__init__(n_genes, hidden_dims, latent_dim, activation, **shared)
        if int(iwae_k) != iwae_k or iwae_k < 1:
            raise InitsensError(f"iwae_k must be a whole number >= 1 (got {iwae_k})")
        if iwae_objective not in OBJECTIVES:
            raise InitsensError(
                f"iwae_objective must be one of {', '.join(OBJECTIVES)} (got {iwae_objective!r})"
            )
        self.iwae_k, self.iwae_objective = int(iwae_k), iwae_objective

    @classmethod
    def draws(cls, hyperparameters):
        """K: every input's K posterior samples go through the decoder."""
        return int(hyperparameters.get("iwae_k", cls.hyperparameters()["iwae_k"].default))

    def objective(self, x, mu, logvar, generator):
        """The negative importance-weighted bound of a batch (K samples per input)."""
        if self.iwae_objective == "pytorch-vae":
            z = reparameterize(mu, logvar, generator, n_samples=self.iwae_k)
            x_hat = self.decode(z)
            recon = self.reconstruction(x.unsqueeze(-3), x_hat)
            loss = pytorch_vae_iwae_loss(recon, kl_standard_normal(mu, logvar), self.kl_factor())
            return Objective(loss.mean(-1), x_hat[..., 0, :, :])
        log_w, x_hat = iwae_log_weights(
            x, mu, logvar, self.decode, self.iwae_k, generator=generator, nll=self.reconstruction
        )
        ess = effective_sample_size(log_w.detach()).mean(-1)
        return Objective(-iwae_bound(log_w).mean(-1), x_hat[..., 0, :, :], {"ess": ess})
