"""IWAE (Burda, Grosse & Salakhutdinov 2016): the importance-weighted bound with K samples.

log w_k = log N(x; decoder(z_k), v I) + log N(z_k; 0, I) - log q(z_k | x),  z_k ~ q(z | x),
loss = -(logsumexp_k log w_k - log K), per sample.

This is the bound itself, whose gradient weights each sample by its normalized importance weight.
(The widely copied PyTorch-VAE "IWAE" instead takes softmax weights of the *negative* log-weights,
which favours the worst sample and is not this bound.) K = 1 gives the single-sample ELBO with a
sampled KL; the bound tightens towards log p(x) as K grows.
"""

from __future__ import annotations

from collections.abc import Sequence

from initsens.errors import InitsensError
from initsens.models.base import MODELS, VAE, positive
from initsens.models.objectives import iwae_bound, iwae_log_weights


@MODELS.register("IWAE")
class IWAE(VAE):
    summary = "negative importance-weighted bound with K samples (Burda et al. 2016)"

    def __init__(self, n_genes: int, hidden_dims: Sequence[int] = (512,), latent_dim: int = 50,
                 activation: str = "leaky_relu", *, iwae_k: int = 5, obs_var: float = 1.0):
        super().__init__(n_genes, hidden_dims, latent_dim, activation)
        if int(iwae_k) != iwae_k or iwae_k < 1:
            raise InitsensError(f"iwae_k must be a whole number >= 1 (got {iwae_k})")
        self.iwae_k = int(iwae_k)
        self.obs_var = positive("obs_var", obs_var)

    def objective(self, x, mu, logvar, generator):
        log_w, x_hat = iwae_log_weights(x, mu, logvar, self.decode, self.iwae_k, self.obs_var, generator)
        return -iwae_bound(log_w).mean(-1), x_hat[..., 0, :, :]
