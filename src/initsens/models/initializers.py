"""Weight initializers, one small registered function each, and :func:`initialize` to apply one.

Each fills a Linear layer's weight (fan_out x fan_in) in place from an explicit ``torch.Generator``,
so a seed alone fixes the initial weights; the laws are tabled on the docs'
:doc:`Models </guide/models>` page. To add one, register a function::

    @INITIALIZERS.register("orthogonal")
    def orthogonal(weight, generator):
        torch.nn.init.orthogonal_(weight, generator=generator)
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from initsens.errors import InitsensError
from initsens.registry import Registry

Initializer = Callable[[torch.Tensor, torch.Generator], None]
INITIALIZERS: Registry[Initializer] = Registry("initializer")
SCOPES = ("all", "hidden")


def _fan_in(weight: torch.Tensor) -> int:
    """Inputs per output: a Linear weight's columns, a convolution's input channels times its
    kernel's size.
    """
    return nn.init._calculate_fan_in_and_fan_out(weight)[0]


@INITIALIZERS.register("default")
def default(weight: torch.Tensor, generator: torch.Generator) -> None:
    """W ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's nn.Linear default."""
    bound = 1.0 / math.sqrt(_fan_in(weight))
    nn.init.uniform_(weight, -bound, bound, generator=generator)


@INITIALIZERS.register("normal")
def normal(weight: torch.Tensor, generator: torch.Generator) -> None:
    """W ~ N(0, 1)."""
    nn.init.normal_(weight, 0.0, 1.0, generator=generator)


@INITIALIZERS.register("uniform")
def uniform(weight: torch.Tensor, generator: torch.Generator) -> None:
    """W ~ U(0, 1), every weight positive (the study's code)."""
    nn.init.uniform_(weight, 0.0, 1.0, generator=generator)


@INITIALIZERS.register("xavier_normal")
def xavier_normal(weight: torch.Tensor, generator: torch.Generator) -> None:
    """W ~ N(0, 2 / (fan_in + fan_out)), Glorot & Bengio 2010."""
    nn.init.xavier_normal_(weight, gain=1.0, generator=generator)


@INITIALIZERS.register("xavier_uniform")
def xavier_uniform(weight: torch.Tensor, generator: torch.Generator) -> None:
    """W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out)), Glorot & Bengio 2010."""
    nn.init.xavier_uniform_(weight, gain=1.0, generator=generator)


@INITIALIZERS.register("kaiming_uniform")
def kaiming_uniform(weight: torch.Tensor, generator: torch.Generator) -> None:
    """W ~ U(-sqrt(6 / fan_in), sqrt(6 / fan_in)), kaiming_uniform_ with a = 0 (the original study's
    "default").
    """
    nn.init.kaiming_uniform_(weight, a=0.0, generator=generator)


def initialize(
    model: nn.Module,
    initializer: str,
    seed: int | None = None,
    generator: torch.Generator | None = None,
    scope: str = "hidden",
) -> None:
    """Re-draw every Linear (and convolution) weight and bias of ``model`` (in module order) and
    reset its BatchNorms.

    ``scope='all'`` applies ``initializer`` to every Linear layer; ``scope='hidden'`` only to the
    layers returned by ``model.hidden_linears()`` (encoder/decoder hidden layers, as the study's
    code did), the posterior heads and output layer getting the ``default`` law. Values are drawn on
    the CPU from ``generator`` (or a new one seeded with ``seed``) and copied, so the same seed
    gives the same weights on any device.
    """
    law = INITIALIZERS.get(initializer)
    if scope not in SCOPES:
        raise InitsensError(f"unknown init scope {scope!r}; choose one of: {', '.join(SCOPES)}")
    if generator is None:
        if seed is None:
            raise ValueError("initialize() needs a seed or a generator")
        generator = torch.Generator().manual_seed(seed)
    targets = set(model.hidden_linears()) if scope == "hidden" else None  # type: ignore[operator]
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
                weight_law = law if targets is None or module in targets else default
                weight = torch.empty(module.weight.shape, dtype=torch.float32)
                weight_law(weight, generator)
                module.weight.copy_(weight)
                if module.bias is not None:
                    bound = 1.0 / math.sqrt(_fan_in(weight))
                    bias = torch.empty(module.bias.shape, dtype=torch.float32)
                    module.bias.copy_(bias.uniform_(-bound, bound, generator=generator))
            elif isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.reset_parameters()
