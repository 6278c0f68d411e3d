"""The four VAEs: every model x depth x initializer works, objectives are what their docstrings
say.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from initsens.errors import InitsensError
from initsens.models import INITIALIZERS, MODELS, build_model, hidden_dims_for
from initsens.models.objectives import gaussian_nll, kl_standard_normal, log_cosh

N_GENES = 40


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def batch() -> torch.Tensor:
    return torch.randn(16, N_GENES, generator=gen(1))


def test_registry_order_is_the_study_order():
    assert MODELS.names() == ["VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE"]


@pytest.mark.parametrize("name", ["VanillaVAE", "IWAE", "InfoVAE", "LogCoshVAE"])
@pytest.mark.parametrize("depth", [1, 2, 3])
def test_every_model_depth_and_initializer_trains(name, depth, batch):
    for init in INITIALIZERS.names():
        model = build_model(
            name,
            N_GENES,
            depth=depth,
            hidden_dims=[32],
            latent_dim=4,
            initializer=init,
            init_scope="hidden",
            seed=3,
        )
        hidden = model.hidden_linears()
        assert [m.out_features for m in hidden[:depth]] == hidden_dims_for(depth, [32])
        assert len(hidden) == 2 * depth
        out = model(batch, gen())
        assert all(torch.isfinite(v) for v in (out.loss, out.recon_mse, out.kl, out.nelbo)), init
        out.loss.backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
        assert not out.nelbo.requires_grad


def test_hidden_widths_default_halving_and_overrides():
    assert hidden_dims_for(3) == [512, 256, 128]
    assert hidden_dims_for(2, [1024]) == [1024, 512]
    assert hidden_dims_for(2, [64, 64, 64]) == [64, 64]
    with pytest.raises(InitsensError, match="depth must be >= 1"):
        hidden_dims_for(0)


def _pieces(model, x, seed):
    """Recompute z and x_hat exactly as the models do: encode, then one reparameterized sample."""
    mu, logvar = model.encode(x)
    eps = torch.randn(mu.shape, generator=gen(seed))
    z = mu + torch.exp(0.5 * logvar) * eps
    return mu, logvar, z, model.decode(z)


def test_vanilla_loss_is_the_negative_elbo_and_equals_nelbo_at_beta_one(batch):
    model = build_model("VanillaVAE", N_GENES, hidden_dims=[32], latent_dim=4, seed=0).eval()
    out = model(batch, gen(9))
    mu, logvar, z, x_hat = _pieces(model, batch, 9)
    expected = (
        0.5 * (batch - x_hat).pow(2).sum(1)
        + 0.5 * N_GENES * math.log(2 * math.pi)
        + 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
    ).mean()
    torch.testing.assert_close(out.loss, expected)
    torch.testing.assert_close(out.nelbo, expected)
    torch.testing.assert_close(out.recon_mse, (batch - x_hat).pow(2).mean())
    beta = build_model(
        "VanillaVAE",
        N_GENES,
        hidden_dims=[32],
        latent_dim=4,
        seed=0,
        hyperparameters={"kl_weight": 0.25},
    ).eval()(batch, gen(9))
    torch.testing.assert_close(beta.loss, expected - 0.75 * out.kl)


def test_common_metrics_have_one_definition(batch):
    """nelbo = G/2 * recon_mse + G/2 log(2 pi) + kl, for every model."""
    for name in MODELS.names():
        out = build_model(name, N_GENES, hidden_dims=[32], latent_dim=4, seed=0).eval()(
            batch, gen(2)
        )
        expected = 0.5 * N_GENES * (out.recon_mse + math.log(2 * math.pi)) + out.kl
        torch.testing.assert_close(out.nelbo, expected, rtol=1e-5, atol=1e-4)


def test_iwae_with_one_sample_is_the_elbo_with_sampled_kl(batch):
    iwae = build_model(
        "IWAE", N_GENES, hidden_dims=[32], latent_dim=4, seed=4, hyperparameters={"iwae_k": 1}
    ).eval()
    mu, logvar, z, x_hat = _pieces(iwae, batch, 5)
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    elbo = -gaussian_nll(batch, x_hat) + p.log_prob(z).sum(1) - q.log_prob(z).sum(1)
    torch.testing.assert_close(iwae(batch, gen(5)).loss, -elbo.mean(), rtol=1e-5, atol=1e-4)


def test_iwae_bound_is_tighter_than_elbo_on_average(batch):
    k1 = build_model(
        "IWAE", N_GENES, hidden_dims=[32], latent_dim=4, seed=4, hyperparameters={"iwae_k": 1}
    ).eval()
    k50 = build_model(
        "IWAE", N_GENES, hidden_dims=[32], latent_dim=4, seed=4, hyperparameters={"iwae_k": 50}
    ).eval()
    loss1 = torch.stack([k1(batch, gen(s)).loss for s in range(40)]).mean()
    loss50 = torch.stack([k50(batch, gen(s)).loss for s in range(40)]).mean()
    assert loss50 < loss1


def test_infovae_reduces_to_vanilla_at_alpha_zero_lambda_one(batch):
    vanilla = build_model("VanillaVAE", N_GENES, hidden_dims=[32], latent_dim=4, seed=8).eval()
    info = build_model(
        "InfoVAE",
        N_GENES,
        hidden_dims=[32],
        latent_dim=4,
        seed=8,
        hyperparameters={"info_alpha": 0.0, "info_lambda": 1.0},
    ).eval()
    torch.testing.assert_close(info(batch, gen(3)).loss, vanilla(batch, gen(3)).loss)
    strong = build_model(
        "InfoVAE",
        N_GENES,
        hidden_dims=[32],
        latent_dim=4,
        seed=8,
        hyperparameters={"info_alpha": 0.5, "info_lambda": 11.0, "info_kernel": "rbf"},
    ).eval()
    mu, logvar, z, x_hat = _pieces(strong, batch, 3)
    prior = torch.randn(z.shape, generator=_after(3, z.numel()))
    from initsens.models.objectives import mmd_unbiased

    mmd = mmd_unbiased(z, prior, "rbf")
    expected = (
        gaussian_nll(batch, x_hat) + 0.5 * kl_standard_normal(mu, logvar)
    ).mean() + 10.5 * mmd
    out = strong(batch, gen(3))
    torch.testing.assert_close(out.loss, expected)
    assert out.extra_metrics.keys() == {"mmd"}  # the model's own metric: the MMD^2 term it adds
    torch.testing.assert_close(out.extra_metrics["mmd"], mmd)


def test_iwae_reports_the_effective_sample_size_of_its_weights(batch):
    """K = 1: one weight, ESS exactly 1; K = 5: between 1 and 5; the PyTorch-VAE objective has no
    importance weights, hence no ESS; the plain VAE reports no metric of its own."""

    def ess(k, objective="bound"):
        model = build_model(
            "IWAE",
            N_GENES,
            hidden_dims=[32],
            latent_dim=4,
            seed=8,
            hyperparameters={"iwae_k": k, "iwae_objective": objective},
        )
        return model(batch, gen(3)).extra_metrics

    assert float(ess(1)["ess"]) == pytest.approx(1.0, abs=1e-6)
    assert 1.0 < float(ess(5)["ess"]) < 5.0
    assert ess(5, "pytorch-vae") == {}
    assert (
        build_model("VanillaVAE", N_GENES, hidden_dims=[32], latent_dim=4, seed=8)(
            batch
        ).extra_metrics
        == {}
    )


def _after(seed: int, n_drawn: int) -> torch.Generator:
    """A generator seeded with ``seed`` that has already produced ``n_drawn`` normal draws."""
    g = gen(seed)
    torch.randn(n_drawn, generator=g)
    return g


def test_logcosh_objective(batch):
    model = build_model(
        "LogCoshVAE",
        N_GENES,
        hidden_dims=[32],
        latent_dim=4,
        seed=2,
        hyperparameters={"logcosh_a": 3.0, "kl_weight": 0.5},
    ).eval()
    mu, logvar, z, x_hat = _pieces(model, batch, 6)
    r = (batch - x_hat).double()
    expected = (
        torch.log(torch.cosh(3.0 * r)).sum(1) / 3.0 + 0.5 * kl_standard_normal(mu, logvar).double()
    ).mean()
    torch.testing.assert_close(model(batch, gen(6)).loss.double(), expected, rtol=1e-5, atol=1e-4)
    assert torch.isfinite(log_cosh(torch.tensor([1e4]))).all()


def test_hyperparameters_are_validated():
    with pytest.raises(InitsensError, match="unknown model hyperparameter\\(s\\) beta; valid: "):
        build_model("VanillaVAE", 10, hyperparameters={"beta": 1.0})
    with pytest.raises(InitsensError, match="iwae_k must be a whole number >= 1"):
        build_model("IWAE", 10, hyperparameters={"iwae_k": 0})
    with pytest.raises(InitsensError, match="kl_weight must be >= 0"):
        build_model("LogCoshVAE", 10, hyperparameters={"kl_weight": -1})
    with pytest.raises(InitsensError, match="unknown MMD kernel 'poly'"):
        build_model("InfoVAE", 10, hyperparameters={"info_kernel": "poly"})
    with pytest.raises(InitsensError, match="unknown model 'BetaVAE'"):
        build_model("BetaVAE", 10)
    # keys of other models are fine: one flat configuration serves a sweep
    build_model("VanillaVAE", 10, hyperparameters={"iwae_k": 5, "logcosh_a": 2.0})


def test_uniform_init_on_all_layers_makes_the_loss_non_finite(batch):
    """Documented behaviour: with U(0,1) everywhere, all-positive weights make the log-variance head
    reach the hundreds for part of the batch at init, so exp overflows; the objective is not clamped
    (that would hide the sensitivity being studied)."""
    model = build_model(
        "VanillaVAE",
        N_GENES,
        hidden_dims=[512],
        latent_dim=8,
        initializer="uniform",
        seed=0,
        init_scope="all",
    )
    _, logvar = model.encode(batch)
    assert logvar.max() > 89  # exp(89) overflows float32
    assert not torch.isfinite(model(batch, gen()).loss)


def test_embed_returns_posterior_means(batch):
    model = build_model("InfoVAE", N_GENES, hidden_dims=[32], latent_dim=4, seed=0).eval()
    torch.testing.assert_close(model.embed(batch), model.encode(batch)[0])
