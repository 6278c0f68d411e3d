"""LogCoshVAE (Chen et al. 2019, "Log hyperbolic cosine loss improves variational auto-encoder").

loss = sum_g (1/a) * log cosh(a * (x_g - decoder(z)_g)) + beta * KL(q(z|x) || N(0, I)), per sample,

with log cosh t computed as |t| + softplus(-2|t|) - log 2, finite at any residual.
``logcosh_form='pytorch-vae'`` is the original code's form, which overflows (the docs'
:doc:`Models </guide/models>` page).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from initsens.errors import InitsensError
from initsens.models.base import MODELS, VAE, Objective, positive
from initsens.models.objectives import kl_standard_normal, log_cosh, log_cosh_pytorch_vae

FORMS = ("stable", "pytorch-vae")


@MODELS.register("LogCoshVAE")
class LogCoshVAE(VAE):
    """VAE with a log-cosh reconstruction loss of scale ``a`` (module docstring)."""

    summary = "(1/a) log cosh(a * residual) summed over genes + beta KL (Chen et al. 2019)"

    def __init__(
        self,
        n_genes: int,
        hidden_dims: Sequence[int] = (512,),
        latent_dim: int = 50,
        activation: str = "leaky_relu",
        *,
        logcosh_a: Annotated[float, "LogCoshVAE a."] = 10.0,
        logcosh_form: Annotated[
            str, "LogCoshVAE log cosh: stable or pytorch-vae (overflows)."
        ] = "stable",
        **shared: Any,
    ):
        super().__init__(n_genes, hidden_dims, latent_dim, activation, **shared)
        if logcosh_form not in FORMS:
            raise InitsensError(
                f"logcosh_form must be one of {', '.join(FORMS)} (got {logcosh_form!r})"
            )
        self.logcosh_a, self.logcosh_form = positive("logcosh_a", logcosh_a), logcosh_form

    def objective(self, x, mu, logvar, generator):
        """The log-cosh reconstruction plus the weighted KL of a batch."""
        _, x_hat = self.sample_and_decode(mu, logvar, generator)
        form = log_cosh_pytorch_vae if self.logcosh_form == "pytorch-vae" else log_cosh
        per_gene = form(self.logcosh_a * (x_hat - x)) / self.logcosh_a
        recon = per_gene.mean(-1) if self.recon_reduction == "mean" else per_gene.sum(-1)
        return Objective(
            (recon + self.kl_factor() * kl_standard_normal(mu, logvar)).mean(-1), x_hat
        )
