"""LogCoshVAE (Chen et al. 2019, "Log hyperbolic cosine loss improves variational auto-encoder").

loss = sum_g (1/a) * log cosh(a * (x_g - decoder(z)_g)) + beta * KL(q(z|x) || N(0, I)), per sample.

log cosh behaves like t^2/2 near 0 and like |t| - log 2 far out, so large residuals are penalized
linearly. It is computed as |t| + softplus(-2|t|) - log 2, which stays finite where the textbook
log((e^t + e^-t) / 2) overflows. Defaults: a = 10, beta = 1.
"""

from __future__ import annotations

from collections.abc import Sequence

from initsens.models.base import MODELS, VAE, non_negative, positive
from initsens.models.objectives import kl_standard_normal, log_cosh


@MODELS.register("LogCoshVAE")
class LogCoshVAE(VAE):
    summary = "(1/a) log cosh(a * residual) summed over genes + beta KL (Chen et al. 2019)"

    def __init__(self, n_genes: int, hidden_dims: Sequence[int] = (512,), latent_dim: int = 50,
                 activation: str = "leaky_relu", *, logcosh_a: float = 10.0, kl_weight: float = 1.0):
        super().__init__(n_genes, hidden_dims, latent_dim, activation)
        self.logcosh_a = positive("logcosh_a", logcosh_a)
        self.kl_weight = non_negative("kl_weight", kl_weight)

    def objective(self, x, mu, logvar, generator):
        _, x_hat = self.sample_and_decode(mu, logvar, generator)
        recon = log_cosh(self.logcosh_a * (x - x_hat)).sum(-1) / self.logcosh_a
        return (recon + self.kl_weight * kl_standard_normal(mu, logvar)).mean(-1), x_hat
