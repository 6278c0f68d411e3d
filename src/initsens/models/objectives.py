"""The objectives' building blocks as pure tensor functions (per sample unless stated).

Conventions: ``x`` and reconstructions are (..., batch, n_genes); ``mu``/``logvar``/``z`` are
(..., batch, latent); per-sample quantities sum over genes or latent dimensions. Leading axes are
free: an ensemble puts its members first, and IWAE's K samples sit just before the batch axis.
Everything here is independent of the networks, so it is tested against closed forms directly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from initsens.registry import Registry

LOG_2PI = math.log(2.0 * math.pi)
LOG_2 = math.log(2.0)


Generators = torch.Generator | Sequence[torch.Generator] | None


def standard_normal(shape: Sequence[int], like: torch.Tensor, generator: Generators = None) -> torch.Tensor:
    """N(0, 1) draws of ``shape``. A sequence of generators means a leading member axis: member m's
    slice is drawn from generator m exactly as a lone run would draw it (so ensembles reproduce runs)."""
    if generator is None or isinstance(generator, torch.Generator):
        return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)
    return torch.stack([torch.randn(shape[1:], generator=g, device=like.device, dtype=like.dtype)
                        for g in generator])


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    generator: Generators = None,
    n_samples: int | None = None,
) -> torch.Tensor:
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I), for mu of shape (..., batch, latent).

    With ``n_samples`` K the result is (..., K, batch, latent): the sample axis sits before the batch.
    """
    if n_samples is not None:
        mu, logvar = mu.unsqueeze(-3), logvar.unsqueeze(-3)
        shape = (*mu.shape[:-3], n_samples, *mu.shape[-2:])
    else:
        shape = mu.shape
    return mu + torch.exp(0.5 * logvar) * standard_normal(shape, mu, generator)


def gaussian_nll(x: torch.Tensor, x_hat: torch.Tensor, obs_var: float = 1.0) -> torch.Tensor:
    """-log N(x; x_hat, obs_var * I), summed over genes: 0.5 * sum((x - x_hat)^2 / v + log(2 pi v))."""
    return 0.5 * ((x - x_hat).pow(2) / obs_var + (LOG_2PI + math.log(obs_var))).sum(-1)


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) = 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over dimensions."""
    return -0.5 * ((z - mu).pow(2) * torch.exp(-logvar) + logvar + LOG_2PI).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over dimensions."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def iwae_log_weights(
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    decode: Callable[[torch.Tensor], torch.Tensor],
    k: int,
    obs_var: float = 1.0,
    generator: Generators = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """log w_k = log p(x | z_k) + log N(z_k; 0, I) - log q(z_k | x) for K posterior samples.

    For x of shape (..., batch, genes) returns (log_w of shape (..., K, batch), reconstructions of
    shape (..., K, batch, genes)); ``decode`` receives all K samples at once.
    """
    z = reparameterize(mu, logvar, generator, n_samples=k)
    x_hat = decode(z)
    log_w = (-gaussian_nll(x.unsqueeze(-3), x_hat, obs_var) + log_standard_normal(z)
             - log_normal_diag(z, mu.unsqueeze(-3), logvar.unsqueeze(-3)))
    return log_w, x_hat


def iwae_bound(log_w: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound per sample: logsumexp_k(log w_k) - log K over the sample axis (-2)
    (Burda et al. 2016)."""
    return torch.logsumexp(log_w, dim=-2) - math.log(log_w.shape[-2])


def log_cosh(t: torch.Tensor) -> torch.Tensor:
    """log(cosh(t)) computed stably as |t| + softplus(-2|t|) - log 2 (finite for any finite t)."""
    a = t.abs()
    return a + F.softplus(-2.0 * a) - LOG_2


Kernel = Callable[[torch.Tensor, float], torch.Tensor]
#: MMD kernels of squared distance d2 with scale C = 2 * latent_dim (the prior's variance being 1).
KERNELS: Registry[Kernel] = Registry("MMD kernel")
KERNELS.register("imq")(lambda d2, scale: scale / (scale + d2))
KERNELS.register("rbf")(lambda d2, scale: torch.exp(-d2 / scale))


def _squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Explicit differences rather than cdist: cdist's gradient is NaN at zero distance.
    return (a.unsqueeze(-2) - b.unsqueeze(-3)).pow(2).sum(-1)


def mmd_unbiased(a: torch.Tensor, b: torch.Tensor, kernel: str = "imq") -> torch.Tensor:
    """Unbiased estimate of MMD^2 between samples ``a`` (..., n, d) and ``b`` (..., m, d) (Gretton et al.
    2012), one value per leading index:

    MMD^2_u = sum_{i!=j} k(a_i, a_j) / (n(n-1)) + sum_{i!=j} k(b_i, b_j) / (m(m-1))
              - 2 sum_{i,j} k(a_i, b_j) / (nm).
    """
    k = KERNELS.get(kernel)
    n, m, scale = a.shape[-2], b.shape[-2], 2.0 * a.shape[-1]

    def off_diagonal_mean(gram: torch.Tensor, size: int) -> torch.Tensor:
        return (gram.sum((-2, -1)) - gram.diagonal(dim1=-2, dim2=-1).sum(-1)) / (size * (size - 1))

    return (
        off_diagonal_mean(k(_squared_distances(a, a), scale), n)
        + off_diagonal_mean(k(_squared_distances(b, b), scale), m)
        - 2.0 * k(_squared_distances(a, b), scale).mean((-2, -1))
    )
