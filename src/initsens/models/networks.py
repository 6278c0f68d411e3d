"""The networks: fully connected encoder and decoder for tabular expression (no objective here).

Encoder: ``depth`` x [Linear -> BatchNorm1d -> activation], then two Linear heads for the Gaussian
posterior's mean and log-variance. Decoder: the mirror image, ending in a linear output layer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from initsens.errors import InitsensError
from initsens.registry import Registry

ACTIVATIONS: Registry[Callable[[], nn.Module]] = Registry("activation")
ACTIVATIONS.register("leaky_relu")(nn.LeakyReLU)
ACTIVATIONS.register("relu")(nn.ReLU)
ACTIVATIONS.register("elu")(nn.ELU)
ACTIVATIONS.register("gelu")(nn.GELU)
ACTIVATIONS.register("tanh")(nn.Tanh)

FIRST_WIDTH = 512


def hidden_dims_for(depth: int, widths: Sequence[int] | None = None) -> list[int]:
    """Hidden widths for ``depth`` layers: ``widths`` as given, truncated to ``depth`` or continued
    by halving its last entry; by default 512, 256, 128, ...
    """
    if depth < 1:
        raise InitsensError(f"depth must be >= 1 (got {depth})")
    widths = list(widths) if widths else [FIRST_WIDTH]
    if any(w < 1 for w in widths):
        raise InitsensError(f"hidden widths must be positive (got {widths})")
    while len(widths) < depth:
        widths.append(max(widths[-1] // 2, 1))
    return widths[:depth]


def hidden_stack(dims: Sequence[int], activation: str) -> nn.Sequential:
    """[Linear -> BatchNorm1d -> activation] for each consecutive pair in ``dims``."""
    make_activation = ACTIVATIONS.get(activation)
    layers: list[nn.Module] = []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), make_activation()]
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    """x -> (mu, logvar) of the diagonal Gaussian posterior q(z | x)."""

    def __init__(self, n_genes: int, hidden_dims: Sequence[int], latent_dim: int, activation: str):
        super().__init__()
        self.hidden = hidden_stack([n_genes, *hidden_dims], activation)
        # nn.Module, not nn.Linear: an ensemble puts stacked layers here (models/stacked.py)
        self.mu: nn.Module = nn.Linear(hidden_dims[-1], latent_dim)
        self.logvar: nn.Module = nn.Linear(hidden_dims[-1], latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean and log-variance of a batch."""
        h = self.hidden(x)
        return self.mu(h), self.logvar(h)


class Decoder(nn.Module):
    """z -> reconstruction mean (linear output, one value per gene)."""

    def __init__(self, n_genes: int, hidden_dims: Sequence[int], latent_dim: int, activation: str):
        super().__init__()
        self.hidden = hidden_stack([latent_dim, *reversed(hidden_dims)], activation)
        self.output: nn.Module = nn.Linear(hidden_dims[0], n_genes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Decode z of shape (..., latent); all leading axes are decoded as one batch."""
        flat = z.reshape(-1, z.shape[-1])
        return self.output(self.hidden(flat)).reshape(*z.shape[:-1], -1)
