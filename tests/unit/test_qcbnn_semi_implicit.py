"""Semi-implicit generators: the SIVI KL bound against a closed-form KL, its behaviour in K, sampling
laws of ``w = m(z) + σ⊙ε`` for the circuit, and training with a flat likelihood (no collapse)."""
import math

import pytest
import torch

from qcbnn_core.generator import ClassicalWeightGenerator, QuantumWeightGenerator
from qcbnn_core.models import ModelConfig, build_model
from qcbnn_core.objectives import Objective, gaussian_log_prior, semi_implicit_log_q
from tests.unit.qcbnn_doubles import torch_one_thread  # noqa: F401

# A linear-Gaussian semi-implicit family: z ~ N(0, I_2), m(z) = A z + b, w | z ~ N(m(z), diag σ²), so the
# marginal is N(b, A Aᵀ + diag σ²) and KL to N(0, τ² I) is closed-form.
A = torch.tensor([[0.8, 0.1], [0.3, -0.5], [0.0, 0.6]], dtype=torch.float64)
B = torch.tensor([0.3, -0.2, 0.5], dtype=torch.float64)
SIGMA = torch.tensor([0.2, 0.3, 0.15], dtype=torch.float64)
TAU = 1.3


def _true_kl() -> float:
    cov = A @ A.T + torch.diag(SIGMA**2)
    n = len(B)
    return float(0.5 * (torch.trace(cov) / TAU**2 + B @ B / TAU**2 - n + n * math.log(TAU**2) - torch.logdet(cov)))


def _estimate(k: int, s: int = 4000, seed: int = 0) -> tuple[float, float]:
    """SIVI KL estimate with K extra draws: (mean, standard error) over S draws."""
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(s, 2, generator=g, dtype=torch.float64) @ A.T + B
    w = m + SIGMA * torch.randn(s, 3, generator=g, dtype=torch.float64)
    m_extra = torch.randn(k, 2, generator=g, dtype=torch.float64) @ A.T + B
    kl = semi_implicit_log_q(w, m, m_extra, SIGMA) - gaussian_log_prior(w, TAU)
    return float(kl.mean()), float(kl.std() / math.sqrt(s))


def test_sivi_kl_is_within_tolerance_of_the_closed_form_kl_for_large_k():
    """Stated tolerance: 0.05 nats (3 % of the true KL of 1.61) at K = 4096, S = 4000."""
    est, se = _estimate(4096)
    truth = _true_kl()
    assert se < 0.02
    assert est == pytest.approx(truth, abs=0.05)


def test_sivi_kl_is_an_upper_bound_that_tightens_with_k():
    truth = _true_kl()
    ests = [_estimate(k, seed=1)[0] for k in (0, 8, 64, 512)]
    assert all(a > b for a, b in zip(ests, ests[1:]))  # decreasing in K
    assert ests[-1] > truth - 0.05 and ests[0] > truth + 1.0  # above the truth; K = 0 is far above


def test_sivi_log_q_with_k0_is_the_conditional_gaussian_density():
    w, m = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    ref = torch.distributions.Normal(m, SIGMA).log_prob(w).sum(-1)
    torch.testing.assert_close(semi_implicit_log_q(w, m, m[:0], SIGMA), ref)


@pytest.mark.parametrize("make", [
    lambda mech: QuantumWeightGenerator("constrained_crx", n_weights=70, mechanism=mech, seed=3,
                                        dtype=torch.float64),
    lambda mech: ClassicalWeightGenerator(6, 64, n_weights=70, mechanism=mech, seed=3, dtype=torch.float64),
], ids=["quantum", "classical"])
def test_semi_implicit_draw_is_the_born_draw_plus_gaussian_jitter(make):
    """Same stream: z first, then ε; so semi-implicit minus Born = σ·ε, and 70 > 64 weights use 2 draws."""
    semi, born = make("semi_implicit"), make("born")
    born.load_state_dict({k: v for k, v in semi.state_dict().items() if k != "rho"})
    w_semi, m = semi.sample_with_mean(4, torch.Generator().manual_seed(7))
    w_born = born.sample(4, torch.Generator().manual_seed(7))
    torch.testing.assert_close(m, w_born)
    gen = torch.Generator().manual_seed(7)
    semi.sample_mixing(4, gen)
    eps = torch.randn(4, 70, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(w_semi, m + semi.sigma * eps)
    assert semi.draws_per_vector == 2 and torch.allclose(semi.sigma, torch.full((70,), 0.05, dtype=torch.float64))
    w_semi.sum().backward()
    assert semi.rho.grad is not None and semi.shift.grad is not None
    with pytest.raises(NotImplementedError, match="SIVI"):
        semi.log_prob(w_semi.detach())


def _kl_only_training(kind: str, mechanism: str, steps: int = 150) -> tuple[float, float]:
    """Train the generator on the KL term alone (a flat likelihood): mean per-weight std before and after."""
    model = build_model(ModelConfig(kind=kind, mechanism=mechanism, ansatz_overrides={"n_qubits": 3, "n_layers": 2}),
                        (2,), seed=0)  # 32 weights, 8 outcomes: 4 noise draws per weight vector
    objective = Objective(model, n_train=100, seed=0, sivi_draws=16)
    opt = torch.optim.Adam(model.source.generator.parameters(), lr=0.03)
    g = torch.Generator().manual_seed(0)
    x, y = torch.zeros(1, 2), torch.zeros(1, dtype=torch.long)  # x = 0: logits do not depend on the weights

    def spread() -> float:
        with torch.no_grad():
            return float(model.source.sample(512, torch.Generator().manual_seed(9)).std(0).mean())

    before = spread()
    for _ in range(steps):
        parts = objective.loss(x, y, 8, 1.0, g)
        opt.zero_grad()
        parts.loss.backward()
        opt.step()
        objective.after_step(g)
    return before, spread()


@pytest.mark.parametrize("kind", ["qcbnn", "mlp"])
def test_flat_likelihood_semi_implicit_spreads_towards_the_prior(kind):
    """With nothing to fit, the ELBO optimum is q = prior N(0, 1): the weight spread grows towards 1."""
    before, after = _kl_only_training(kind, "semi_implicit")
    assert before < 0.4 and 0.8 < after < 1.2


def test_flat_likelihood_born_adversarial_also_spreads():
    """What the old option does with a flat likelihood: the discriminator also widens the *marginal* spread
    (measured 0.29 → ≈1.1 here), so it does not collapse without a likelihood; its collapse in training
    (per-weight std 0.58 → 0.15 on the phantom) comes from the likelihood against a regulariser that sees
    only the marginal and has no −log σ term. The semi-implicit KL has one (see the study's weight std)."""
    before, after = _kl_only_training("qcbnn", "born")
    assert after > before + 0.3
