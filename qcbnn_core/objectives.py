"""Training objectives: the negative ELBO per training example,

    L = E_q[ NLL(batch | w) ] + beta * KL(q || p) / N,    p(w) = N(0, prior_sigma^2 I),

with one KL estimator per weight distribution:

* ``bnn`` (mean-field Gaussian): the closed-form KL.
* ``qcbnn``/``mlp`` with ``mechanism="semi_implicit"`` (``w = m(z) + σ ⊙ ε``): the semi-implicit upper
  bound on KL (Yin & Zhou 2018, SIVI; :func:`semi_implicit_log_q`): ``log q(w_s)`` is replaced by
  ``log (1/(K+1)) Σ_{k=0..K} N(w_s; m(z_k), σ²)`` with z_0 the draw that made w_s and K extra draws; in
  expectation this is ≥ log q(w_s), so the KL estimate is an upper bound that tightens as K grows (tested
  against a closed-form KL). Fully pathwise: no discriminator, no lag.
* ``qcbnn``/``mlp`` with ``mechanism="bin_jitter"``: exact Monte-Carlo KL ``mean_s[log q(w_s) - log p(w_s)]`` using
  the generator's ``log_prob``. A sampled bitstring is discrete, so gradients to the circuit use the score
  function (REINFORCE) with a leave-one-out baseline over the S draws.
* ``qcbnn``/``mlp`` with ``mechanism="born"`` (implicit density): an adversarial density-ratio estimate
  (Adversarial Variational Bayes, Mescheder et al. 2017): a discriminator ``T(w)`` is trained with the
  logistic loss to tell q-samples from prior samples; at its optimum ``T(w) = log q(w)/p(w)``, so
  ``KL ≈ mean_s T(w_s)``, differentiated through the (differentiable) samples.
* ``cnn``: plain cross-entropy (no KL).

**Our choices** (the paper's text is not available to us): prior N(0, 1); discriminator = MLP
(n_weights → 64 → 64 → 1, ReLU), Adam lr 1e-3, ``disc_steps`` updates per model step on fresh samples;
linear beta warm-up. Caveat: the Born machine's weights lie on a low-dimensional manifold (n_qubits noise
dimensions), where the true KL to a Gaussian is infinite; the discriminator's estimate is finite only
because of its limited capacity — read it as a regulariser, not as a number. Its level is therefore not
comparable with the other models' −ELBO (pages draw the loss curves on separate axes).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from labkit.seeds import derive_seed

from .models import GaussianWeights, GeneratorWeights, MCNet


KL_ESTIMATORS = {"gaussian": "closed-form KL", "semi_implicit": "SIVI KL bound", "adversarial": "adversarial KL",
                 "exact_mc": "exact Monte-Carlo KL", "none": "no KL term"}
"""Human name of each :attr:`Objective.mode`'s KL estimator (the −ELBO levels differ by estimator)."""


def objective_mode(kind: str, mechanism: str) -> str:
    """The :attr:`Objective.mode` a model of this kind/mechanism trains with (a key of :data:`KL_ESTIMATORS`)."""
    if kind == "bnn":
        return "gaussian"
    if kind == "cnn":
        return "none"
    return {"born": "adversarial", "semi_implicit": "semi_implicit"}.get(mechanism, "exact_mc")


def expected_nll(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Monte-Carlo expected negative log-likelihood.

    Args:
        logits: ``(S, B, C)``.
        y: ``(B,)`` labels.

    Returns:
        ``(S,)`` mean cross-entropy over the batch, per weight draw.
    """
    s, b, c = logits.shape
    return F.cross_entropy(logits.reshape(s * b, c), y.repeat(s), reduction="none").reshape(s, b).mean(1)


def gaussian_log_prior(w: torch.Tensor, prior_sigma: float = 1.0) -> torch.Tensor:
    """``log N(w; 0, prior_sigma^2 I)`` summed over weights: ``(S, n) -> (S,)``."""
    n = w.shape[-1]
    return -0.5 * (w / prior_sigma).pow(2).sum(-1) - n * (math.log(prior_sigma) + 0.5 * math.log(2 * math.pi))


def gaussian_kl(mu: torch.Tensor, sigma: torch.Tensor, prior_sigma: float = 1.0) -> torch.Tensor:
    """Closed-form ``KL(N(mu, sigma^2) || N(0, prior_sigma^2))`` summed over independent weights (scalar)."""
    return (torch.log(prior_sigma / sigma) + (sigma**2 + mu**2) / (2 * prior_sigma**2) - 0.5).sum()


def semi_implicit_log_q(w: torch.Tensor, m_own: torch.Tensor, m_extra: torch.Tensor,
                        sigma: torch.Tensor) -> torch.Tensor:
    """The semi-implicit (SIVI) estimate of ``log q(w)`` for ``q(w) = E_z N(w; m(z), diag σ²)``.

    ``log (1/(K+1)) [N(w_s; m_own_s, σ²) + Σ_k N(w_s; m_extra_k, σ²)]``: each draw's own mixing mean plus
    K shared extra ones. Its expectation over the draws is ≥ E log q(w) (Yin & Zhou 2018; Molchanov et al.
    2019), so ``mean(estimate − log p(w))`` upper-bounds KL(q‖p); the bias shrinks as K grows.

    Args:
        w: ``(S, n)`` draws, ``w_s = m_own_s + σ ⊙ ε_s``.
        m_own: ``(S, n)`` the mixing mean each draw came from.
        m_extra: ``(K, n)`` mixing means of K independent extra noise draws (K ≥ 0).
        sigma: ``(n,)`` per-weight std.

    Returns:
        ``(S,)`` estimates, differentiable in all inputs.
    """
    a, own, extra = w / sigma, m_own / sigma, m_extra / sigma
    d_own = (a - own).pow(2).sum(-1, keepdim=True)  # (S, 1)
    # |a − b|² = |a|² − 2 a·b + |b|² as one matmul: 4–5× faster than an (S, K, n) difference tensor
    d_extra = (a.pow(2).sum(-1, keepdim=True) - 2 * a @ extra.T + extra.pow(2).sum(-1)).clamp_min(0)  # (S, K)
    comp = -0.5 * torch.cat([d_own, d_extra], dim=1)
    n = w.shape[-1]
    return (torch.logsumexp(comp, dim=1) - math.log(comp.shape[1]) - torch.log(sigma).sum()
            - 0.5 * n * math.log(2 * math.pi))


def beta_schedule(step: int, warmup_steps: int, beta_max: float = 1.0) -> float:
    """Linear KL warm-up: ``beta_max * min(1, (step + 1) / warmup_steps)``; ``warmup_steps=0`` means none."""
    if warmup_steps <= 0:
        return float(beta_max)
    return float(beta_max) * min(1.0, (step + 1) / warmup_steps)


class Discriminator(nn.Module):
    """Density-ratio network ``T(w): (S, n) -> (S,)``; trained so that ``T ≈ log q(w) - log p(w)``."""

    def __init__(self, n_weights: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_weights, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.net(w).squeeze(-1)


def discriminator_loss(disc: Discriminator, w_q: torch.Tensor, w_p: torch.Tensor) -> torch.Tensor:
    """Logistic loss: label 1 for q-samples ``(S, n)``, 0 for prior samples ``(S', n)``."""
    t_q, t_p = disc(w_q), disc(w_p)
    return F.binary_cross_entropy_with_logits(t_q, torch.ones_like(t_q)) + F.binary_cross_entropy_with_logits(
        t_p, torch.zeros_like(t_p))


@dataclass
class LossParts:
    """One step's loss tensor (to backpropagate) and its reported parts.

    Attributes:
        loss: scalar tensor to backpropagate (a surrogate with the right gradient for REINFORCE).
        nll: expected NLL per example (nats).
        kl: the KL estimate for the whole weight vector (nats; not divided by N).
        beta: the KL weight used.
        n_train: N.
    """

    loss: torch.Tensor
    nll: float
    kl: float
    beta: float
    n_train: int

    @property
    def neg_elbo(self) -> float:
        """Negative ELBO per example ``nll + beta * kl / N`` (the value; ``loss`` may be a surrogate)."""
        return self.nll + self.beta * self.kl / self.n_train


class Objective:
    """Negative ELBO for one model. Call :meth:`loss` each step and :meth:`after_step` after the optimiser.

    Args:
        model: the network.
        n_train: training-set size N (KL is divided by it).
        prior_sigma: prior standard deviation.
        disc_steps: discriminator updates per model step (born only).
        disc_lr: discriminator learning rate (born only).
        disc_batch: q- and prior samples per discriminator update (born only).
        seed: seeds the discriminator initialisation.
        sivi_draws: extra mixing draws K of the semi-implicit bound (semi_implicit only).
    """

    def __init__(self, model: MCNet, n_train: int, prior_sigma: float = 1.0, disc_steps: int = 2,
                 disc_lr: float = 1e-3, disc_batch: int = 64, seed: int = 0, sivi_draws: int = 32):
        if n_train < 1:
            raise ValueError(f"n_train must be >= 1, got {n_train}")
        if not prior_sigma > 0:
            raise ValueError(f"prior_sigma must be > 0, got {prior_sigma}")
        if sivi_draws < 0:
            raise ValueError(f"sivi_draws must be >= 0, got {sivi_draws}")
        self.model, self.n_train, self.prior_sigma = model, n_train, float(prior_sigma)
        self.sivi_draws = int(sivi_draws)
        src = model.source
        self.mode = ("gaussian" if isinstance(src, GaussianWeights) else
                     "none" if not isinstance(src, GeneratorWeights) else objective_mode("qcbnn", _mechanism(src)))
        self.disc: Discriminator | None = None
        self.disc_steps, self.disc_batch = int(disc_steps), int(disc_batch)
        if self.mode == "adversarial":
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(derive_seed(seed, "discriminator"))
                self.disc = Discriminator(src.n_weights)
            self.disc_opt = torch.optim.Adam(self.disc.parameters(), lr=disc_lr)

    def to(self, device: torch.device) -> Objective:
        """Move the discriminator with the classical part."""
        if self.disc is not None:
            self.disc.to(device)
        return self

    def loss(self, x: torch.Tensor, y: torch.Tensor, n_samples: int, beta: float,
             generator: torch.Generator | None = None) -> LossParts:
        """Loss on one batch ``x: (B, ...)``, ``y: (B,)`` with ``S = n_samples`` weight draws."""
        m = self.model
        if self.mode in ("none", "gaussian"):
            nll = expected_nll(m(x, n_samples, generator), y).mean()
            kl = gaussian_kl(m.source.mu, m.source.sigma, self.prior_sigma) if self.mode == "gaussian" else nll * 0
            return LossParts(nll + beta * kl / self.n_train, nll.item(), kl.item(), beta, self.n_train)
        if self.mode == "semi_implicit":
            kl_s, w = self.semi_implicit_kl(n_samples, generator)
            nll = expected_nll(m.logits_with(x, w), y).mean()
            kl = kl_s.mean().to(nll.device, nll.dtype)
            return LossParts(nll + beta * kl / self.n_train, nll.item(), kl.item(), beta, self.n_train)
        w = m.source.sample(n_samples, generator)
        if self.mode == "adversarial":
            nll = expected_nll(m.logits_with(x, w), y).mean()
            kl = self.disc(w).mean()
            return LossParts(nll + beta * kl / self.n_train, nll.item(), kl.item(), beta, self.n_train)
        # exact_mc: REINFORCE on log q for the circuit; pathwise gradients for the classical head.
        w = w.detach()
        nll_s = expected_nll(m.logits_with(x, w), y)
        log_q = m.source.log_prob(w).to(w.device, w.dtype)
        kl_s = log_q.detach() - gaussian_log_prior(w, self.prior_sigma)
        f = nll_s.detach() + beta * kl_s / self.n_train
        if n_samples > 1:
            baseline = (f.sum() - f) / (n_samples - 1)  # leave-one-out: keeps the estimator unbiased
        else:
            baseline = torch.zeros_like(f)
        surrogate = nll_s.mean() + ((f - baseline) * log_q).mean()
        return LossParts(surrogate, nll_s.mean().item(), kl_s.mean().item(), beta, self.n_train)

    def semi_implicit_kl(self, n_samples: int, generator: torch.Generator | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-draw KL terms ``(S,)`` (upper bound in expectation; on the generator's device) and the draws
        ``(S, n_weights)`` on the network's device, both differentiable."""
        src = self.model.source
        g = src.generator
        w, m_own = g.sample_with_mean(n_samples, generator)
        m_extra = g.mean_map(g.sample_mixing(self.sivi_draws, generator)) if self.sivi_draws else m_own[:0]
        log_q = semi_implicit_log_q(w, m_own, m_extra, g.sigma)
        return log_q - gaussian_log_prior(w, self.prior_sigma), src.to_device(w)

    def after_step(self, generator: torch.Generator | None = None) -> float | None:
        """Update the discriminator (born only) on fresh q- and prior samples; returns its last loss."""
        if self.mode != "adversarial":
            return None
        src = self.model.source
        out = None
        for _ in range(self.disc_steps):
            with torch.no_grad():
                w_q = src.sample(self.disc_batch, generator)
                w_p = self.prior_sigma * torch.randn(w_q.shape, generator=generator).to(w_q.device)
            loss = discriminator_loss(self.disc, w_q, w_p)
            self.disc_opt.zero_grad()
            loss.backward()
            self.disc_opt.step()
            out = loss.item()
        return out


def _mechanism(src: GeneratorWeights) -> str:
    """The generator's continuity mechanism; test doubles without the attribute count as ``born``."""
    return getattr(src.generator, "mechanism", "born")
