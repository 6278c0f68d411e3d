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


def standard_normal(
    shape: Sequence[int], like: torch.Tensor, generator: Generators = None
) -> torch.Tensor:
    """N(0, 1) draws of ``shape``. A sequence of generators means a leading member axis: member m's
    slice is drawn from generator m exactly as a lone run would draw it (so ensembles reproduce
    runs).
    """
    if generator is None or isinstance(generator, torch.Generator):
        return torch.randn(shape, generator=generator, device=like.device, dtype=like.dtype)
    return torch.stack(
        [
            torch.randn(shape[1:], generator=g, device=like.device, dtype=like.dtype)
            for g in generator
        ]
    )


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    generator: Generators = None,
    n_samples: int | None = None,
) -> torch.Tensor:
    """z = mu + exp(logvar / 2) * eps, eps ~ N(0, I), for mu of shape (..., batch, latent).

    With ``n_samples`` K the result is (..., K, batch, latent): the sample axis sits before the
    batch.
    """
    if n_samples is not None:
        mu, logvar = mu.unsqueeze(-3), logvar.unsqueeze(-3)
        shape = (*mu.shape[:-3], n_samples, *mu.shape[-2:])
    else:
        shape = mu.shape
    return mu + torch.exp(0.5 * logvar) * standard_normal(shape, mu, generator)


def gaussian_nll(x: torch.Tensor, x_hat: torch.Tensor, obs_var: float = 1.0) -> torch.Tensor:
    """-log N(x; x_hat, obs_var * I), summed over genes: 0.5 * sum((x - x_hat)^2 / v + log(2 pi
    v)).
    """
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
    nll: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """log w_k = log p(x | z_k) + log N(z_k; 0, I) - log q(z_k | x) for K posterior samples.

    For x of shape (..., batch, genes) returns (log_w of shape (..., K, batch), reconstructions of
    shape (..., K, batch, genes)); ``decode`` receives all K samples at once. -log p(x | z) is the
    Gaussian NLL with variance ``obs_var`` unless ``nll(x, x_hat)`` is given.
    """
    z = reparameterize(mu, logvar, generator, n_samples=k)
    x_hat = decode(z)
    neg_log_px = (nll or (lambda a, b: gaussian_nll(a, b, obs_var)))(x.unsqueeze(-3), x_hat)
    log_w = (
        -neg_log_px
        + log_standard_normal(z)
        - log_normal_diag(z, mu.unsqueeze(-3), logvar.unsqueeze(-3))
    )
    return log_w, x_hat


def iwae_bound(log_w: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound per sample: logsumexp_k(log w_k) - log K over the sample axis
    (-2) (Burda et al. 2016).
    """
    return torch.logsumexp(log_w, dim=-2) - math.log(log_w.shape[-2])


def effective_sample_size(log_w: torch.Tensor) -> torch.Tensor:
    """Kish's effective sample size of importance weights per sample, over the sample axis (-2):
    (sum_k w_k)^2 / sum_k w_k^2 = 1 / sum_k p_k^2 with p = softmax(log w); from 1 to K.
    """
    return 1.0 / torch.softmax(log_w, dim=-2).pow(2).sum(-2)


def pytorch_vae_iwae_loss(recon: torch.Tensor, kl: torch.Tensor, kl_weight: float) -> torch.Tensor:
    """PyTorch-VAE's "IWAE" loss per sample, as the original study's code computed it (not the IWAE
    bound).

    With l_k = recon_k + kl_weight * KL (``recon`` of shape (..., K, batch), ``kl`` of shape (...,
    batch)): loss = sum_k softmax_k(l)_k * l_k, the softmax taken over the K samples and not
    detached.
    """
    log_weight = recon + kl_weight * kl.unsqueeze(-2)
    return (torch.softmax(log_weight, dim=-2) * log_weight).sum(-2)


def log_cosh(t: torch.Tensor) -> torch.Tensor:
    """log(cosh(t)) computed stably as ``|t| + softplus(-2|t|) - log 2`` (finite for any finite
    t).
    """
    a = t.abs()
    return a + F.softplus(-2.0 * a) - LOG_2


def log_cosh_pytorch_vae(t: torch.Tensor) -> torch.Tensor:
    """log(cosh(t)) as the original study's code wrote it: t + log(1 + exp(-2t)) - log 2. Exact in
    real numbers, but exp overflows for t below about -44 in float32 (-355 in float64) and the value
    is inf.
    """
    return t + torch.log(1.0 + torch.exp(-2.0 * t)) - LOG_2


Kernel = Callable[[torch.Tensor, float], torch.Tensor]
#: MMD kernels of squared distance d2 with scale C = 2 * latent_dim (the prior's variance being 1).
KERNELS: Registry[Kernel] = Registry("MMD kernel")
KERNELS.register("imq")(lambda d2, scale: scale / (scale + d2))
KERNELS.register("rbf")(lambda d2, scale: torch.exp(-d2 / scale))


def _squared_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    # Explicit differences rather than cdist: cdist's gradient is NaN at zero distance.
    return (a.unsqueeze(-2) - b.unsqueeze(-3)).pow(2).sum(-1)


def mmd_unbiased(a: torch.Tensor, b: torch.Tensor, kernel: str = "imq") -> torch.Tensor:
    """Unbiased estimate of MMD^2 between samples ``a`` (..., n, d) and ``b`` (..., m, d) (Gretton
    et al. 2012), one value per leading index:

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


def mmd_pytorch_vae(
    z: torch.Tensor,
    prior: torch.Tensor,
    kernel: str = "imq",
    latent_var: float = 2.0,
    eps: float = 1e-7,
) -> torch.Tensor:
    """PyTorch-VAE InfoVAE's MMD term as the original study's code computed it, divided by n(n - 1)
    as its loss does. Kernel scale C = 2 * d * latent_var (4d with its default latent_var = 2).

    imq: k = C / (eps + C + ||a - b||^2) and each of the three sums leaves out its diagonal, the
    cross term included: (S(p, p) + S(z, z) - 2 S(p, z)) / (n (n - 1)). rbf: k = exp(-mean_d (a -
    b)^2 / C), each term a plain mean over all n^2 pairs, then also divided by n(n - 1).
    """
    n, scale = z.shape[-2], 2.0 * z.shape[-1] * latent_var

    def term(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        diff2 = (a.unsqueeze(-2) - b.unsqueeze(-3)).pow(2)
        if kernel == "imq":
            gram = scale / (eps + scale + diff2.sum(-1))
            return gram.sum((-2, -1)) - gram.diagonal(dim1=-2, dim2=-1).sum(-1)
        KERNELS.get(kernel)
        return torch.exp(-diff2.mean(-1) / scale).mean((-2, -1))

    return (term(prior, prior) + term(z, z) - 2.0 * term(prior, z)) / (n * (n - 1))
