"""Plugins that break the contract, one way each (tests/test_plugins.py checks their one-line
errors).
"""

import torch

from initsens.models import VAE


class NotAModel(torch.nn.Module):
    """An nn.Module that is not an initsens VAE."""


class LossOnly(VAE):
    """An objective that returns the loss alone."""

    def objective(self, x, mu, logvar, generator):
        return (x - self.decode(mu)).pow(2).sum()


class IWAE(LossOnly):
    """A class whose name is a built-in model's."""


def raises(weight, generator):
    """An initializer that raises."""
    raise ValueError("no weights today")


def leaves_nan(weight, generator):
    """An initializer that fills half the weight."""
    weight[: weight.shape[0] // 2] = 0.0
