"""A user's initializer: an orthogonal weight matrix (Saxe et al. 2014)."""

import torch


def orthogonal(weight, generator):
    """W orthogonal (rows or columns orthonormal), Saxe et al. 2014."""
    torch.nn.init.orthogonal_(weight, generator=generator)
