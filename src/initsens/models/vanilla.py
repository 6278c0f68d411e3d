"""VanillaVAE (Kingma & Welling 2014): the negative ELBO with a Gaussian decoder and a KL weight.

loss = E_q[-log N(x; decoder(z), v I)] + beta * KL(q(z|x) || N(0, I)), per sample, with one
reparameterized sample of z. beta = 1 (default) gives the true negative ELBO, an upper bound on
-log p(x); v is the fixed decoder variance (``obs_var``, 1). With ``recon_reduction='mean'``
the first term is the squared error averaged over genes and ``kl_weight='mn'`` weights the KL by
batch size / split size: PyTorch-VAE's loss, as the original study's code ran it.
"""

from __future__ import annotations

from initsens.models.base import MODELS, VAE, Objective
from initsens.models.objectives import kl_standard_normal


@MODELS.register("VanillaVAE")
class VanillaVAE(VAE):
    """The VAE: Gaussian reconstruction plus the weighted KL (module docstring)."""

    summary = "negative ELBO, Gaussian decoder, KL weight beta (Kingma & Welling 2014)"

    def objective(self, x, mu, logvar, generator):
        """The negative ELBO (reconstruction plus weighted KL) of a batch."""
        _, x_hat = self.sample_and_decode(mu, logvar, generator)
        loss = self.reconstruction(x, x_hat) + self.kl_factor() * kl_standard_normal(mu, logvar)
        return Objective(loss.mean(-1), x_hat)
