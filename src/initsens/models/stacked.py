"""Ensembles of same-architecture VAEs as one network with a leading member axis.

:func:`stack_models` turns M models of one class and architecture into one model whose Linear layers
are batched matrix products and whose BatchNorms keep per-member statistics; the objective runs
unchanged and returns one loss per member, so one optimizer step trains every member independently.
Members that stop are dropped (:func:`select_members`) with their optimizer state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import torch
import torch.nn.functional as F
from torch import nn

from initsens.models.base import VAE
from initsens.models.networks import Decoder, Encoder


class StackedLinear(nn.Module):
    """M Linear layers: x (M, N, in) -> (M, N, out) = x @ weight + bias.

    The weight is stored as (M, in, out), i.e. each member's nn.Linear weight transposed, so the
    batched product needs no transposed view and its gradient arrives in the parameter's own layout
    (a transposed layout would cost a full copy of every weight gradient on every step).
    """

    def __init__(self, layers: Sequence[nn.Linear]) -> None:
        super().__init__()
        self.weight = nn.Parameter(
            torch.stack([layer.weight.detach().t() for layer in layers]).contiguous()
        )
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The stack applied member by member (leading dimension: members)."""
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight)


class StackedBatchNorm1d(nn.Module):
    """M BatchNorm1d layers over x (M, N, C), computed by PyTorch's own kernel on (N, M*C) channels,
    so each member's statistics, running averages and numerics are those of its own BatchNorm1d.
    """

    def __init__(self, layers: Sequence[nn.BatchNorm1d]) -> None:
        super().__init__()
        first = layers[0]
        self.eps, self.momentum = first.eps, first.momentum if first.momentum is not None else 0.1
        self.weight = nn.Parameter(torch.stack([layer.weight.detach() for layer in layers]))
        self.bias = nn.Parameter(torch.stack([layer.bias.detach() for layer in layers]))
        self.running_mean: torch.Tensor
        self.running_var: torch.Tensor
        self.register_buffer(
            "running_mean", torch.stack([_tensor(layer.running_mean) for layer in layers])
        )
        self.register_buffer(
            "running_var", torch.stack([_tensor(layer.running_var) for layer in layers])
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The stack applied member by member (leading dimension: members)."""
        members, n, channels = x.shape
        flat = x.transpose(0, 1).reshape(n, members * channels)
        out = F.batch_norm(
            flat,
            self.running_mean.view(-1),
            self.running_var.view(-1),
            self.weight.view(-1),
            self.bias.view(-1),
            self.training,
            self.momentum,
            self.eps,
        )
        return out.reshape(n, members, channels).transpose(0, 1)


def _tensor(value: torch.Tensor | None) -> torch.Tensor:
    """A BatchNorm buffer, which exists when running statistics are tracked (always here)."""
    assert value is not None, "BatchNorm without running statistics cannot be stacked"
    return value


def _stack_sequential(stacks: Sequence[nn.Sequential]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for position in zip(*stacks):
        if isinstance(position[0], nn.Linear):
            layers.append(StackedLinear(position))
        elif isinstance(position[0], nn.BatchNorm1d):
            layers.append(StackedBatchNorm1d(position))
        else:  # activations are stateless
            layers.append(position[0])
    return nn.Sequential(*layers)


class StackedEncoder(Encoder):
    """Encoder of M members; forward is :class:`Encoder`'s, on (M, N, genes)."""

    def __init__(self, encoders: Sequence[Encoder]) -> None:
        nn.Module.__init__(self)
        self.hidden = _stack_sequential([e.hidden for e in encoders])
        self.mu = StackedLinear([cast(nn.Linear, e.mu) for e in encoders])
        self.logvar = StackedLinear([cast(nn.Linear, e.logvar) for e in encoders])


class StackedDecoder(Decoder):
    """Decoder of M members: z (M, ..., latent) -> (M, ..., genes)."""

    def __init__(self, decoders: Sequence[Decoder]) -> None:
        nn.Module.__init__(self)
        self.hidden = _stack_sequential([d.hidden for d in decoders])
        self.output = StackedLinear([cast(nn.Linear, d.output) for d in decoders])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The stack applied member by member (leading dimension: members)."""
        flat = z.reshape(z.shape[0], -1, z.shape[-1])
        return self.output(self.hidden(flat)).reshape(*z.shape[:-1], -1)


def stack_models(models: Sequence[VAE]) -> VAE:
    """One model of the members' class with stacked encoder and decoder (takes over
    ``models[0]``).
    """
    kinds = {(type(m), m.n_genes, m.latent_dim, tuple(m.hidden_dims)) for m in models}
    if len(kinds) != 1:
        raise ValueError("stack_models needs models of one class and architecture")
    ensemble = models[0]
    outside = [
        name
        for name, _ in [*ensemble.named_parameters(), *ensemble.named_buffers()]
        if not name.startswith(("encoder.", "decoder."))
    ]
    if outside or type(ensemble.encoder) is not Encoder or type(ensemble.decoder) is not Decoder:
        # the members would share those tensors (or a network the stacks do not reproduce): not
        # independent runs
        raise ValueError(
            "stack_models stacks the standard encoder and decoder only (found "
            f"{outside or 'others'})"
        )
    ensemble.encoder = StackedEncoder([m.encoder for m in models])
    ensemble.decoder = StackedDecoder([m.decoder for m in models])
    return ensemble


def select_members(
    model: VAE, keep: torch.Tensor, optimizer: torch.optim.Optimizer
) -> torch.optim.Optimizer:
    """Keep only the members at indices ``keep``: parameters and buffers are sliced in place (new
    parameter objects, as autograd requires) and a new optimizer of the same kind, with the same
    settings and the kept members' state (step, moments), is returned.
    """
    old_state = {}
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (StackedLinear, StackedBatchNorm1d)):
                for name, param in list(module.named_parameters(recurse=False)):
                    new = nn.Parameter(param.detach()[keep].clone())
                    old_state[new] = {
                        key: value[keep].clone()
                        if torch.is_tensor(value) and value.shape == param.shape
                        else value
                        for key, value in optimizer.state.get(param, {}).items()
                    }
                    setattr(module, name, new)
                for name, buffer in list(module.named_buffers(recurse=False)):
                    setattr(module, name, buffer[keep].clone())
    group = {k: v for k, v in optimizer.param_groups[0].items() if k != "params"}
    fresh = type(optimizer)(model.parameters(), **group)
    for param in model.parameters():
        if param in old_state and old_state[param]:
            fresh.state[param] = old_state[param]
    return fresh
