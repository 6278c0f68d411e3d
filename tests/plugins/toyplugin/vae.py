"""A beta-VAE written as a user would: the contract of initsens.models.VAE in a few lines."""

from typing import Annotated

import torch

from initsens.models import VAE, Objective
from initsens.models.objectives import gaussian_nll, kl_standard_normal, reparameterize


class BetaVAE(VAE):
    """beta-VAE (Higgins et al. 2017): Gaussian reconstruction plus beta times the KL."""

    def __init__(
        self,
        n_genes,
        hidden_dims=(512,),
        latent_dim=50,
        activation="leaky_relu",
        *,
        beta: float = 4.0,
    ):
        super().__init__(n_genes, hidden_dims, latent_dim, activation)
        self.beta = beta

    def objective(self, x, mu, logvar, generator):
        z = reparameterize(mu, logvar, generator)
        x_hat = self.decode(z)
        loss = gaussian_nll(x, x_hat, 1.0) + self.beta * kl_standard_normal(mu, logvar)
        return Objective(loss.mean(-1), x_hat)


class FlatVAE(BetaVAE):
    """A beta-VAE whose objective only takes (batch, genes): torch.mm has no member axis, so it
    trains alone.
    """

    def objective(self, x, mu, logvar, generator):
        out = super().objective(x, mu, logvar, generator)
        return Objective(out.loss + 0.0 * torch.mm(mu, mu.transpose(0, 1)).sum(), out.x_hat)


class ConvVAE(BetaVAE):
    """A beta-VAE with a 1-d convolution over the genes before the encoder and a learnt output
    scale: layers and parameters that initsens's initializers do not all know.
    """

    def __init__(
        self,
        n_genes,
        hidden_dims=(512,),
        latent_dim=50,
        activation="leaky_relu",
        *,
        beta: float = 1.0,
    ):
        super().__init__(n_genes, hidden_dims, latent_dim, activation, beta=beta)
        self.smooth = torch.nn.Conv1d(1, 1, kernel_size=3, padding=1)
        self.scale = torch.nn.Parameter(torch.ones(n_genes))

    def encode(self, x):
        smoothed = self.smooth(x.reshape(-1, 1, x.shape[-1])).reshape(x.shape)
        return super().encode(x + smoothed)

    def decode(self, z):
        return super().decode(z) * self.scale


class TemperedVAE(VAE):
    """A VAE whose KL term is divided by a temperature: a hyperparameter declared as initsens's own
    models declare theirs (its help in ``Annotated``), and VAE's own (kl_weight, recon_reduction)
    taken by passing ``**shared`` on.
    """

    def __init__(
        self,
        n_genes,
        hidden_dims=(512,),
        latent_dim=50,
        activation="leaky_relu",
        *,
        temperature: Annotated[float, "Divides the KL term."] = 2.0,
        **shared,
    ):
        super().__init__(n_genes, hidden_dims, latent_dim, activation, **shared)
        self.temperature = temperature

    def objective(self, x, mu, logvar, generator):
        z = reparameterize(mu, logvar, generator)
        x_hat = self.decode(z)
        loss = self.reconstruction(
            x, x_hat
        ) + self.kl_factor() / self.temperature * kl_standard_normal(mu, logvar)
        return Objective(loss.mean(-1), x_hat)
