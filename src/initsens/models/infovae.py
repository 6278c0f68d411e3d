"""InfoVAE (Zhao, Song & Ermon 2019): ELBO with a re-weighted KL and an MMD term on the aggregate
posterior.

loss = w_r * E_q[-log N(x; decoder(z), v I)] + (1 - alpha) * beta * KL(q(z|x) || p(z))
       + (alpha + lambda - 1) * MMD^2(q(z), p(z)),

with the unbiased MMD^2 against as many draws from N(0, I). The kernels and the original code's
variant (``info_mmd='pytorch-vae'``): the docs' :doc:`Models </guide/models>` page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from initsens.errors import InitsensError
from initsens.models.base import MODELS, VAE, Objective, positive
from initsens.models.objectives import (
    KERNELS,
    kl_standard_normal,
    mmd_pytorch_vae,
    mmd_unbiased,
    standard_normal,
)

MMD_FORMS = ("unbiased", "pytorch-vae")


@MODELS.register("InfoVAE")
class InfoVAE(VAE):
    """InfoVAE: re-weighted KL and an MMD pull of the aggregate posterior to the prior (module
    docstring).
    """

    summary = "recon + (1-alpha) KL + (alpha+lambda-1) MMD(q(z), p(z)) (Zhao et al. 2019)"
    extra_metrics = {
        "mmd": "the objective's MMD^2 estimate between the posterior samples of the batch (all of "
        "the validation split) and as many draws from N(0, I), in the form set by info_mmd"
    }

    def __init__(
        self,
        n_genes: int,
        hidden_dims: Sequence[int] = (512,),
        latent_dim: int = 50,
        activation: str = "leaky_relu",
        *,
        info_alpha: Annotated[float, "InfoVAE alpha."] = 0.0,
        info_lambda: Annotated[float, "InfoVAE lambda."] = 100.0,
        info_kernel: Annotated[str, "InfoVAE MMD kernel: imq or rbf."] = "imq",
        info_recon_weight: Annotated[float, "InfoVAE reconstruction weight."] = 1.0,
        info_mmd: Annotated[str, "InfoVAE MMD estimate: unbiased or pytorch-vae."] = "unbiased",
        **shared: Any,
    ):
        super().__init__(n_genes, hidden_dims, latent_dim, activation, **shared)
        KERNELS.get(info_kernel)
        if info_mmd not in MMD_FORMS:
            raise InitsensError(
                f"info_mmd must be one of {', '.join(MMD_FORMS)} (got {info_mmd!r})"
            )
        self.info_alpha, self.info_lambda, self.info_kernel = (
            float(info_alpha),
            float(info_lambda),
            info_kernel,
        )
        self.info_recon_weight, self.info_mmd = (
            positive("info_recon_weight", info_recon_weight),
            info_mmd,
        )

    def objective(self, x, mu, logvar, generator):
        """The InfoVAE loss of a batch, with its MMD term among the extra metrics."""
        z, x_hat = self.sample_and_decode(mu, logvar, generator)
        prior = standard_normal(z.shape, z, generator)
        per_sample = self.info_recon_weight * self.reconstruction(x, x_hat) + (
            1.0 - self.info_alpha
        ) * self.kl_factor() * kl_standard_normal(mu, logvar)
        mmd = (mmd_pytorch_vae if self.info_mmd == "pytorch-vae" else mmd_unbiased)(
            z, prior, self.info_kernel
        )
        loss = per_sample.mean(-1) + (self.info_alpha + self.info_lambda - 1.0) * mmd
        return Objective(loss, x_hat, {"mmd": mmd})
