"""Objectives: closed forms against torch.distributions, the exact MC KL and its REINFORCE gradient
against an exact computation, and the adversarial density-ratio estimate on a known KL."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from qcbnn_core.models import ModelConfig, build_model
from qcbnn_core.objectives import (
    Discriminator, Objective, beta_schedule, discriminator_loss, expected_nll, gaussian_kl, gaussian_log_prior,
)
from tests.unit.qcbnn_doubles import BinJitterDouble, ImplicitDouble, torch_one_thread  # noqa: F401


def test_expected_nll_is_the_mean_cross_entropy_per_draw():
    logits = torch.randn(3, 5, 2)
    y = torch.tensor([0, 1, 1, 0, 1])
    expected = torch.stack([F.cross_entropy(logits[s], y) for s in range(3)])
    torch.testing.assert_close(expected_nll(logits, y), expected)


def test_gaussian_kl_and_prior_match_torch_distributions():
    mu, sigma = torch.randn(10), torch.rand(10) + 0.1
    ref = kl_divergence(Normal(mu, sigma), Normal(torch.zeros(10), torch.full((10,), 0.7))).sum()
    torch.testing.assert_close(gaussian_kl(mu, sigma, 0.7), ref)
    w = torch.randn(4, 10)
    torch.testing.assert_close(gaussian_log_prior(w, 0.7), Normal(0.0, 0.7).log_prob(w).sum(-1))


def test_beta_warmup():
    assert [beta_schedule(s, 4, 2.0) for s in range(6)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert beta_schedule(0, 0, 0.3) == 0.3


def _exact_bin_jitter_kl(gen: BinJitterDouble, prior_sigma: float) -> torch.Tensor:
    """KL(q || N(0, s^2)) for independent piecewise-uniform weights, in closed form."""
    k = gen.n_bins
    delta = (gen.hi - gen.lo) / k
    lo_edges = gen.lo + delta * torch.arange(k, dtype=torch.float32)
    hi_edges = lo_edges + delta
    ew2 = (lo_edges**2 + lo_edges * hi_edges + hi_edges**2) / 3  # E[w^2] for w ~ U(bin)
    pi = torch.softmax(gen.logits, -1)
    e_log_q = (pi * (torch.log(pi) - math.log(delta))).sum()
    e_log_p = (pi * (-0.5 * ew2 / prior_sigma**2 - math.log(prior_sigma) - 0.5 * math.log(2 * math.pi))).sum()
    return e_log_q - e_log_p


def _tabular_bin_jitter_model():
    model = build_model(ModelConfig(kind="qcbnn"), (2,), seed=0,
                        generator_factory=lambda n, s: BinJitterDouble(n, s, n_bins=4))
    with torch.no_grad():  # a constant classifier: the NLL is the same for every draw
        model.fc.weight.zero_()
        model.fc.bias.zero_()
        model.source.generator.logits.copy_(torch.randn(model.source.generator.logits.shape,
                                                        generator=torch.Generator().manual_seed(3)))
    return model


def test_exact_mc_kl_matches_closed_form():
    model = _tabular_bin_jitter_model()
    obj = Objective(model, n_train=100, prior_sigma=0.8)
    assert obj.mode == "exact_mc"
    parts = obj.loss(torch.randn(1, 2), torch.tensor([1]), 20000, 1.0, torch.Generator().manual_seed(0))
    exact = _exact_bin_jitter_kl(model.source.generator, 0.8).item()
    assert parts.kl == pytest.approx(exact, rel=0.02)
    assert parts.nll == pytest.approx(math.log(2))
    assert parts.neg_elbo == pytest.approx(math.log(2) + exact / 100, rel=0.01)


def test_reinforce_gradient_matches_exact_kl_gradient():
    model = _tabular_bin_jitter_model()
    gen = model.source.generator
    obj = Objective(model, n_train=10, prior_sigma=0.8)
    parts = obj.loss(torch.randn(1, 2), torch.tensor([0]), 20000, 1.0, torch.Generator().manual_seed(1))
    (g_est,) = torch.autograd.grad(parts.loss, gen.logits)
    (g_exact,) = torch.autograd.grad(_exact_bin_jitter_kl(gen, 0.8) / 10, gen.logits)
    cos = F.cosine_similarity(g_est.flatten(), g_exact.flatten(), dim=0)
    assert cos > 0.95
    assert g_est.norm() / g_exact.norm() == pytest.approx(1.0, abs=0.1)


def test_discriminator_estimates_a_known_kl():
    """q = N(m, I), p = N(0, I) in 4-D: KL = |m|^2 / 2 = 1; the optimal logit is log q/p."""
    torch.manual_seed(0)
    m = torch.tensor([1.0, 1.0, 0.0, 0.0])
    disc = Discriminator(4, hidden=32)
    opt = torch.optim.Adam(disc.parameters(), lr=3e-3)
    for _ in range(600):
        loss = discriminator_loss(disc, torch.randn(256, 4) + m, torch.randn(256, 4))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        est = disc(torch.randn(20000, 4) + m).mean().item()
    assert est == pytest.approx(1.0, abs=0.2)


def test_adversarial_objective_trains_its_discriminator_and_reaches_the_generator():
    model = build_model(ModelConfig(kind="qcbnn"), (1, 8, 8), seed=0, generator_factory=ImplicitDouble)
    obj = Objective(model, n_train=50, disc_steps=3)
    assert obj.mode == "adversarial"
    x, y = torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1])
    parts = obj.loss(x, y, 4, beta=1.0, generator=torch.Generator().manual_seed(0))
    parts.loss.backward()
    assert model.source.generator.lin.weight.grad.abs().sum() > 0
    before = [p.detach().clone() for p in obj.disc.parameters()]
    assert obj.after_step(torch.Generator().manual_seed(1)) > 0
    assert any(not torch.equal(a, b) for a, b in zip(before, obj.disc.parameters()))


def test_objective_modes_and_validation():
    assert Objective(build_model(ModelConfig(kind="cnn"), (3,)), 10).mode == "none"
    assert Objective(build_model(ModelConfig(kind="bnn"), (3,)), 10).mode == "gaussian"
    with pytest.raises(ValueError, match="n_train"):
        Objective(build_model(ModelConfig(kind="cnn"), (3,)), 0)
