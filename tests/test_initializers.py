"""Each initializer's sampled weights follow its stated law (KS test and std formula),
reproducibly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from initsens.errors import InitsensError
from initsens.models import INITIALIZERS, build_model, initialize

FAN_IN, FAN_OUT = 400, 300
XAVIER_SD = math.sqrt(2.0 / (FAN_IN + FAN_OUT))
XAVIER_A = math.sqrt(6.0 / (FAN_IN + FAN_OUT))
DEFAULT_A = 1.0 / math.sqrt(FAN_IN)
KAIMING_A = math.sqrt(6.0 / FAN_IN)

# initializer -> (scipy law it must follow, its standard deviation by formula)
LAWS = {
    "default": (stats.uniform(-DEFAULT_A, 2 * DEFAULT_A), 2 * DEFAULT_A / math.sqrt(12)),
    "normal": (stats.norm(0.0, 1.0), 1.0),
    "uniform": (stats.uniform(0.0, 1.0), 1.0 / math.sqrt(12)),
    "xavier_normal": (stats.norm(0.0, XAVIER_SD), XAVIER_SD),
    "xavier_uniform": (stats.uniform(-XAVIER_A, 2 * XAVIER_A), 2 * XAVIER_A / math.sqrt(12)),
    "kaiming_uniform": (stats.uniform(-KAIMING_A, 2 * KAIMING_A), 2 * KAIMING_A / math.sqrt(12)),
}


class OneLayer(nn.Module):
    """A single Linear layer with the hidden_linears() hook initialize() uses for scope='hidden'."""

    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(FAN_IN, FAN_OUT)

    def hidden_linears(self):
        return [self.layer]


def test_registry_holds_exactly_the_study_initializers():
    assert INITIALIZERS.names() == list(LAWS)


@pytest.mark.parametrize("name", list(LAWS))
def test_weights_follow_the_stated_law(name):
    net = OneLayer()
    initialize(net, name, seed=11)
    w = net.layer.weight.detach().numpy().ravel().astype(np.float64)
    law, sd = LAWS[name]
    assert stats.kstest(w, law.cdf).pvalue > 1e-3
    assert w.std() == pytest.approx(sd, rel=0.01)
    assert abs(w.mean() - law.mean()) < 5 * sd / math.sqrt(w.size)
    # every other law of the table is rejected: the test can tell the initializers apart
    for other, (other_law, _) in LAWS.items():
        if other != name and (name, other) not in {
            ("default", "xavier_uniform"),
            ("xavier_uniform", "default"),
        }:
            assert stats.kstest(w, other_law.cdf).pvalue < 1e-6, other


def test_biases_keep_pytorch_default_law():
    net = OneLayer()
    initialize(net, "normal", seed=2)
    b = net.layer.bias.detach().numpy().astype(np.float64)
    assert np.abs(b).max() <= DEFAULT_A
    assert stats.kstest(b, stats.uniform(-DEFAULT_A, 2 * DEFAULT_A).cdf).pvalue > 1e-3


def test_same_seed_same_weights_and_different_seed_different_weights():
    def weights(init, seed):
        model = build_model(
            "VanillaVAE", 50, depth=2, hidden_dims=[32], latent_dim=4, initializer=init, seed=seed
        )
        return torch.cat([p.detach().ravel() for p in model.parameters()])

    for init in LAWS:
        torch.manual_seed(123)  # the global RNG must not matter
        first = weights(init, 5)
        torch.manual_seed(999)
        assert torch.equal(first, weights(init, 5))
        assert not torch.equal(first, weights(init, 6))


def test_scope_hidden_touches_only_hidden_layers():
    model = build_model(
        "VanillaVAE",
        200,
        depth=2,
        hidden_dims=[128],
        latent_dim=8,
        initializer="normal",
        init_scope="hidden",
        seed=0,
    )
    hidden = set(model.hidden_linears())
    assert len(hidden) == 4  # 2 encoder + 2 decoder hidden layers
    for module in model.modules():
        if isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.in_features)
            w = module.weight.detach()
            if module in hidden:
                assert w.std().item() == pytest.approx(1.0, rel=0.05)
            else:  # heads and output layer: PyTorch default law
                assert w.abs().max().item() <= bound


def test_scope_all_and_unknown_names():
    model = build_model(
        "IWAE",
        200,
        depth=1,
        hidden_dims=[64],
        latent_dim=8,
        initializer="normal",
        seed=0,
        init_scope="all",
    )
    assert model.encoder.mu.weight.std().item() == pytest.approx(1.0, rel=0.1)
    hidden = build_model(
        "IWAE", 200, depth=1, hidden_dims=[64], latent_dim=8, initializer="normal", seed=0
    )
    assert hidden.encoder.mu.weight.abs().max().item() <= 1 / math.sqrt(
        64
    )  # the default scope leaves the heads
    with pytest.raises(
        InitsensError, match="unknown initializer 'he'; choose one of: default, normal"
    ):
        build_model("IWAE", 10, initializer="he")
    with pytest.raises(InitsensError, match="unknown init scope"):
        build_model("IWAE", 10, init_scope="heads")


def test_batchnorm_is_reset():
    model = build_model("VanillaVAE", 20, hidden_dims=[8], latent_dim=2, seed=0)
    bn = model.encoder.hidden[1]
    with torch.no_grad():
        bn.weight.fill_(3.0)
        bn.running_mean.fill_(5.0)
    initialize(model, "default", seed=0)
    assert torch.equal(bn.weight, torch.ones(8)) and torch.equal(bn.running_mean, torch.zeros(8))
