"""Objective building blocks against independent numbers: scipy densities, torch.distributions,
the closed-form marginal likelihood of probabilistic PCA, a loop MMD, and a float64 log-cosh."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import Normal, kl_divergence

from initsens.models.objectives import (
    effective_sample_size,
    gaussian_nll,
    iwae_bound,
    iwae_log_weights,
    kl_standard_normal,
    log_cosh,
    log_normal_diag,
    log_standard_normal,
    mmd_unbiased,
)


@pytest.fixture(autouse=True)
def _float64():
    """Reference comparisons run in float64; the default dtype is restored afterwards."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def test_gaussian_nll_matches_scipy():
    rng = np.random.default_rng(0)
    x, x_hat = rng.normal(size=(4, 7)), rng.normal(size=(4, 7))
    for var in (1.0, 0.3):
        expected = -stats.norm.logpdf(x, loc=x_hat, scale=math.sqrt(var)).sum(axis=1)
        got = gaussian_nll(torch.tensor(x), torch.tensor(x_hat), var).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_kl_and_log_densities_match_torch_distributions_and_scipy():
    rng = np.random.default_rng(1)
    mu, logvar, z = (torch.tensor(rng.normal(size=(5, 3))) for _ in range(3))
    q = Normal(mu, torch.exp(0.5 * logvar))
    expected_kl = kl_divergence(q, Normal(torch.zeros_like(mu), torch.ones_like(mu))).sum(-1)
    torch.testing.assert_close(kl_standard_normal(mu, logvar), expected_kl, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(
        log_normal_diag(z, mu, logvar).numpy(),
        stats.norm.logpdf(z.numpy(), mu.numpy(), np.exp(0.5 * logvar.numpy())).sum(1),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        log_standard_normal(z).numpy(), stats.norm.logpdf(z.numpy()).sum(1), rtol=1e-12
    )


class PPCA:
    """x = W z + b + e, z ~ N(0, I_d), e ~ N(0, s2 I): log p(x) and the exact posterior in closed
    form.

    W has orthogonal columns, so the exact posterior is diagonal and fits a mean-field q.
    """

    def __init__(self, n_genes=6, d=2, s2=0.5, seed=3):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.normal(size=(n_genes, d)))
        self.W, self.b, self.s2 = q * np.array([2.0, 1.2]), rng.normal(size=n_genes), s2
        self.x = (
            self.W @ rng.normal(size=d) + self.b + rng.normal(scale=math.sqrt(s2), size=n_genes)
        )

    def log_marginal(self) -> float:
        cov = self.W @ self.W.T + self.s2 * np.eye(len(self.b))
        return float(stats.multivariate_normal(self.b, cov).logpdf(self.x))

    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        m_diag = np.diag(self.W.T @ self.W) + self.s2
        return (self.W.T @ (self.x - self.b)) / m_diag, self.s2 / m_diag

    def elbo(self, m: np.ndarray, v: np.ndarray) -> float:
        """Exact ELBO for q = N(m, diag(v)): E_q log p(x|z) - KL(q || p)."""
        resid = self.x - self.b - self.W @ m
        expected_ll = -0.5 / self.s2 * (resid @ resid + np.sum(self.W**2 * v)) - 0.5 * len(
            self.x
        ) * math.log(2 * math.pi * self.s2)
        kl = 0.5 * np.sum(m**2 + v - 1 - np.log(v))
        return float(expected_ll - kl)

    def bound(self, m, v, k, reps, seed=0):
        """(mean, standard error) over ``reps`` independent draws of the K-sample IWAE bound."""
        x = torch.tensor(self.x).expand(reps, -1)
        mu, logvar = torch.tensor(m).expand(reps, -1), torch.tensor(np.log(v)).expand(reps, -1)
        W, b = torch.tensor(self.W), torch.tensor(self.b)
        log_w, _ = iwae_log_weights(
            x, mu, logvar, lambda z: z @ W.T + b, k, self.s2, torch.Generator().manual_seed(seed)
        )
        values = iwae_bound(log_w).numpy()
        return values.mean(), values.std(ddof=1) / math.sqrt(reps)


def test_iwae_with_exact_posterior_equals_log_marginal_for_any_k():
    ppca = PPCA()
    m, v = ppca.posterior()
    for k in (1, 7):
        mean, se = ppca.bound(m, v, k, reps=10)
        assert se < 1e-10
        assert mean == pytest.approx(ppca.log_marginal(), abs=1e-9)


def test_iwae_bounds_are_ordered_and_converge_to_log_marginal():
    ppca = PPCA()
    m, v = ppca.posterior()
    m, v = m + np.array([0.8, -0.5]), v * 4.0  # a poor posterior: visible gaps
    log_px, elbo = ppca.log_marginal(), ppca.elbo(m, v)
    b1, se1 = ppca.bound(m, v, 1, reps=20000)
    assert abs(b1 - elbo) < 4 * se1  # K = 1 is the ELBO (in expectation)
    b5, se5 = ppca.bound(m, v, 5, reps=4000, seed=1)
    b50, se50 = ppca.bound(m, v, 50, reps=1000, seed=2)
    b5000, se5000 = ppca.bound(m, v, 5000, reps=20, seed=3)
    assert elbo + 4 * se1 < b5 - 4 * se5
    assert b5 + 4 * se5 < b50 - 4 * se50
    assert b50 + 4 * se50 < log_px
    assert log_px - elbo > 1.0  # the gap being closed is substantial
    assert abs(b5000 - log_px) < 0.02 * (log_px - elbo)
    assert b5000 <= log_px + 4 * se5000


def _mmd_loop(a: np.ndarray, b: np.ndarray, kernel: str) -> float:
    scale = 2.0 * a.shape[1]

    def k(u, w):
        d2 = float(np.sum((u - w) ** 2))
        return scale / (scale + d2) if kernel == "imq" else math.exp(-d2 / scale)

    n, m = len(a), len(b)
    aa = sum(k(a[i], a[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    bb = sum(k(b[i], b[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    ab = sum(k(a[i], b[j]) for i in range(n) for j in range(m)) / (n * m)
    return aa + bb - 2 * ab


def test_effective_sample_size_closed_forms():
    """Kish: (sum w)^2 / sum w^2 over the sample axis (-2), from log-weights at any scale (offset
    700: exp alone would overflow). Columns: w = (1, 1, 2) -> 16/6; w = (2, 1, 0) -> 9/5.
    """
    w = torch.tensor([[1.0, 2.0], [1.0, 1.0], [2.0, 0.0]])
    torch.testing.assert_close(
        effective_sample_size(torch.log(w) + 700.0), torch.tensor([16 / 6, 9 / 5])
    )
    assert float(effective_sample_size(torch.zeros(7, 1))) == pytest.approx(7.0)  # equal weights: K
    assert float(effective_sample_size(torch.tensor([[0.0], [-800.0]]))) == pytest.approx(
        1.0
    )  # one dominates


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_matches_loop_estimator(kernel):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(9, 3)), rng.normal(0.5, 1.0, size=(11, 3))
    got = mmd_unbiased(torch.tensor(a), torch.tensor(b), kernel).item()
    assert got == pytest.approx(_mmd_loop(a, b, kernel), rel=1e-12)


@pytest.mark.parametrize("kernel", ["imq", "rbf"])
def test_mmd_near_zero_for_same_distribution_and_grows_with_shift(kernel):
    gen = torch.Generator().manual_seed(5)
    n, d = 400, 4
    a = torch.randn(n, d, generator=gen)
    assert (
        abs(mmd_unbiased(a, a, kernel).item()) <= 2.0 / n
    )  # identical samples: O(1/n), see docstring
    b = torch.randn(n, d, generator=gen)
    values = [mmd_unbiased(a, b + shift, kernel).item() for shift in (0.0, 0.25, 0.5, 1.0, 2.0)]
    assert abs(values[0]) < 0.01
    assert all(lo < hi for lo, hi in zip(values, values[1:]))


def test_mmd_gradient_is_finite_for_identical_points():
    a = torch.zeros(5, 3, requires_grad=True)
    mmd_unbiased(a, torch.ones(5, 3)).backward()
    assert torch.isfinite(a.grad).all()


def test_log_cosh_matches_float64_reference_and_stays_finite():
    t = np.linspace(-80.0, 80.0, 2001)
    reference = np.log(np.cosh(t))  # float64 is exact enough and does not overflow here
    got = log_cosh(torch.tensor(t, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(got, reference, rtol=2e-6, atol=1e-6)
    big = torch.tensor([1e4, -1e4], dtype=torch.float32)
    assert torch.isinf(torch.log(torch.cosh(big))).all()  # the textbook form overflows ...
    # ... this does not:
    torch.testing.assert_close(
        log_cosh(big), torch.full((2,), 1e4 - math.log(2.0), dtype=torch.float32)
    )
    x = torch.tensor([-1e4, 0.0, 1e4], dtype=torch.float32, requires_grad=True)
    log_cosh(x).sum().backward()
    torch.testing.assert_close(
        x.grad, torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float32)
    )  # d/dt log cosh t = tanh t
