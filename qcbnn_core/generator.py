"""Weight generators: a noise-driven distribution on the probability simplex, mapped to continuous weights.

A generator turns noise into a point ``p`` on the simplex of D outcomes — a parametrised quantum circuit
(:class:`QuantumWeightGenerator`, D = 2^n) or, as the classical control, a small MLP with a softmax
(:class:`ClassicalWeightGenerator`, same noise and same D) — and one of three *continuity mechanisms*
turns outcomes into weights (the names in brackets are the ones the pages show):

``mechanism="semi_implicit"`` [semi-implicit Born machine (SIVI bound)] — the default, and the fair one.
    ``w = m(z) + σ ⊙ ε`` with ``ε ~ N(0, I)`` and a learnable per-weight ``σ`` (softplus-parametrised,
    initialised like the BNN's σ), where ``m(z)`` is the Born map below. Given z the weights are Gaussian,
    so the marginal q(w) is a continuous mixture of Gaussians with a density on all of R^n — it cannot
    collapse onto the ≤ n_noise-dimensional manifold of the plain Born machine, and its KL to the prior
    is finite. KL is bounded by the semi-implicit bound of Yin & Zhou (2018, SIVI):
    ``log q(w_s) ≤ E[log (1/(K+1)) Σ_{k=0..K} N(w_s; m(z_k), σ²)]`` in expectation over K extra draws
    z_1..z_K (z_0 = the draw that made w_s), so ``mean_s[that − log p(w_s)]`` is an upper bound on
    KL(q‖p) that tightens as K grows (``qcbnn_core.objectives.semi_implicit_log_q``). Like the BNN's
    closed-form KL it contains a −log σ term that resists shrinking σ to zero.

``mechanism="born"`` [Born machine + adversarial KL (implicit)] — one weight vector per noise draw
    ``z ~ U[-1, 1]^n``: ``p = |U(θ) E(z)|0…0⟩|²`` moves continuously with z; an affine map turns it into
    weights, ``w_j = shift_j + scale_j · (D·p_j − 1)`` (our choice: ``D·p_j`` is 1 on average, so
    ``shift_j`` is the weight's location and ``scale_j`` its spread; both are learnable per weight,
    initialised ``shift_j ~ U(weight_range)`` — like a usual conv init, which breaks the symmetry between
    feature maps — and ``scale_j = (hi − lo)/8``). With n = 6, one draw's 64 probabilities become the 64
    conv weights (16 kernels of 2×2). If ``n_weights > D``, each weight vector uses ``ceil(n_weights/D)``
    independent draws, concatenated; if ``n_weights < D``, the first ``n_weights`` probabilities are used.
    ``sample`` is differentiable (reparameterised through z); there is no density (the weights lie on an
    n-dimensional manifold, where the KL to a Gaussian prior is infinite), so ``log_prob`` raises and the
    objective can only use an adversarial *regulariser*. Kept to show what the manifold does: its
    learnable ``scale`` shrinks freely under the likelihood.

``mechanism="bin_jitter"`` [bitstring + jitter (exact density)] — ``weight_range = [lo, hi)`` is cut into
    D equal bins of width Δ. Weight j is drawn independently: measure on the input ``E(c_j)`` to get a
    bitstring b (bin index) with probability ``q_j(b) = |⟨b|U(θ)E(c_j)|0…0⟩|²``, then
    ``w_j = lo + (b + u)·Δ`` with ``u ~ U[0, 1)``. The per-weight conditioning inputs ``c_j ∈ R^n``
    (learnable, initialised uniform in [-1, 1]) let one shared circuit give every weight its own
    distribution. Density: ``log q(w) = Σ_j [log q_j(bin(w_j)) − log Δ]`` on the box, −∞ outside; it
    integrates to 1 (tested). ``sample`` is NOT differentiable (a discrete draw; returned detached);
    ``log_prob`` IS differentiable in θ and c (score-function gradients, exact Monte-Carlo KL). Weights are
    independent across j (a mean-field family of 2^n-bin histograms) — our design choice; the paper's exact
    construction is not available to us.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labkit.seeds import torch_generator

from .ansatz import DEFAULT_PRESET, AnsatzConfig, init_params, preset
from .circuit import QNODE_DEVICES, make_qnode
from .simulator import circuit_probs

MECHANISMS = ("semi_implicit", "born", "bin_jitter")
MECHANISM_LABELS = {
    "semi_implicit": "semi-implicit Born machine (SIVI bound)",
    "born": "Born machine + adversarial KL (implicit)",
    "bin_jitter": "bitstring + jitter (exact density)",
}


class SimplexWeightGenerator(nn.Module):
    """The mechanisms (module docstring) on top of any noise → simplex map; subclasses define :meth:`probs`.

    Args:
        n_noise: noise dimension n (noise draws are ``U[-1, 1]^n``).
        dim: D, the number of outcomes of :meth:`probs`.
        n_weights: length of each weight vector.
        mechanism: one of :data:`MECHANISMS`.
        weight_range: ``(lo, hi)``: the bin range for ``bin_jitter``; the initial shift range otherwise.
        seed: fixes the mechanism's initial parameters and the default noise stream.
        init_sigma: initial σ of ``semi_implicit``.
        device, dtype: of the parameters.
    """

    def __init__(self, n_noise: int, dim: int, n_weights: int, mechanism: str, weight_range: tuple[float, float],
                 seed: int, init_sigma: float, device: str | torch.device, dtype: torch.dtype) -> None:
        super().__init__()
        if mechanism not in MECHANISMS:
            raise ValueError(f"mechanism must be one of {list(MECHANISMS)}, got {mechanism!r}")
        _check_count(n_weights, "n_weights")
        lo, hi = (float(v) for v in weight_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"weight_range must be two finite numbers lo < hi, got {weight_range!r}")
        if not (isinstance(init_sigma, numbers.Real) and math.isfinite(init_sigma) and init_sigma > 0):
            raise ValueError(f"init_sigma must be a finite number > 0, got {init_sigma!r}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        self.n_noise, self.dim, self.n_weights, self.mechanism = int(n_noise), int(dim), int(n_weights), mechanism
        self.weight_range, self.seed = (lo, hi), int(seed)
        init_gen = torch_generator(self.seed, "init")
        if mechanism == "bin_jitter":
            cond = torch.rand(n_weights, n_noise, generator=init_gen, dtype=torch.float64) * 2 - 1
            self.cond = nn.Parameter(cond.to(device=device, dtype=dtype))
        else:
            shift = lo + (hi - lo) * torch.rand(n_weights, generator=init_gen, dtype=torch.float64)
            self.shift = nn.Parameter(shift.to(device=device, dtype=dtype))
            self.scale = nn.Parameter(torch.full((n_weights,), (hi - lo) / 8, device=device, dtype=dtype))
        if mechanism == "semi_implicit":  # softplus^-1(init_sigma), as in the BNN
            self.rho = nn.Parameter(torch.full((n_weights,), math.log(math.expm1(init_sigma)), device=device,
                                               dtype=dtype))
        self._noise_gen = torch_generator(self.seed, "noise")

    def probs(self, z: torch.Tensor) -> torch.Tensor:
        """Points on the simplex ``(S, D)`` for noise/inputs ``z: (S, n_noise)``; differentiable."""
        raise NotImplementedError

    @property
    def _anchor(self) -> torch.Tensor:
        """A parameter whose device and dtype the generator's tensors follow."""
        return next(self.parameters())

    @property
    def bin_width(self) -> float:
        """Δ = (hi − lo) / D, the width of one ``bin_jitter`` bin."""
        lo, hi = self.weight_range
        return (hi - lo) / self.dim

    @property
    def draws_per_vector(self) -> int:
        """Noise draws concatenated into one weight vector: ``ceil(n_weights / D)``."""
        return -(-self.n_weights // self.dim)

    @property
    def sigma(self) -> torch.Tensor:
        """Per-weight Gaussian std ``(n_weights,)`` of ``semi_implicit`` (differentiable)."""
        if self.mechanism != "semi_implicit":
            raise NotImplementedError("sigma exists only for mechanism='semi_implicit'")
        return F.softplus(self.rho)

    def sample_noise(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Noise draws ``z ~ U[-1, 1]^n`` of shape (n_samples, n_noise) (CPU generator, then moved)."""
        _check_count(n_samples, "n_samples")
        gen = self._noise_gen if generator is None else generator
        z = torch.rand(n_samples, self.n_noise, generator=gen, dtype=torch.float64) * 2 - 1
        return z.to(device=self._anchor.device, dtype=self._anchor.dtype)

    def sample_mixing(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """The noise of ``n_samples`` weight vectors: (n_samples, draws_per_vector · n_noise)."""
        return self.sample_noise(n_samples * self.draws_per_vector, generator).reshape(n_samples, -1)

    def mean_map(self, z: torch.Tensor) -> torch.Tensor:
        """The Born map ``m(z) = shift + scale ⊙ (D·p(z) − 1)``: (S, draws_per_vector · n_noise) → (S, n_weights)."""
        if self.mechanism == "bin_jitter":
            raise NotImplementedError("mean_map exists only for mechanisms 'born' and 'semi_implicit'")
        s = z.shape[0]
        p = self.probs(z.reshape(s * self.draws_per_vector, self.n_noise)).reshape(s, -1)
        return self.shift + self.scale * (self.dim * p[:, : self.n_weights] - 1)

    def sample_with_mean(self, n_samples: int, generator: torch.Generator | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """Differentiable draws ``w`` and their mixing means ``m(z)``, both (S, n_weights).

        For ``born`` ``w`` is ``m(z)``; for ``semi_implicit`` ``w = m(z) + σ ⊙ ε`` (z is drawn first, then ε).
        """
        _check_count(n_samples, "n_samples")
        gen = self._noise_gen if generator is None else generator
        m = self.mean_map(self.sample_mixing(n_samples, gen))
        if self.mechanism == "born":
            return m, m
        eps = torch.randn(n_samples, self.n_weights, generator=gen, dtype=torch.float64).to(m)
        return m + self.sigma * eps, m

    def bin_probs(self) -> torch.Tensor:
        """``q_j(b)`` for ``bin_jitter``: (n_weights, D), rows sum to 1; differentiable."""
        if self.mechanism != "bin_jitter":
            raise NotImplementedError("bin_probs exists only for mechanism='bin_jitter'")
        return self.probs(self.cond)

    def sample(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n_samples`` weight vectors.

        Args:
            n_samples: S.
            generator: torch CPU generator for the randomness (default: this generator's own
                stream, seeded by ``seed``).

        Returns:
            (S, n_weights). ``born``/``semi_implicit``: differentiable in all parameters. ``bin_jitter``:
            detached (discrete draw; use :meth:`log_prob` for gradients).
        """
        if self.mechanism != "bin_jitter":
            return self.sample_with_mean(n_samples, generator)[0]
        _check_count(n_samples, "n_samples")
        gen = self._noise_gen if generator is None else generator
        with torch.no_grad():
            q = self.bin_probs().double().cpu()
            bins = _categorical(q, n_samples, gen).T  # (S, n_weights)
            u = torch.rand(n_samples, self.n_weights, generator=gen, dtype=torch.float64)
            w = (self.weight_range[0] + (bins + u) * self.bin_width).to(self._anchor.dtype)
            # Rounding to float32 can push a value onto a bin edge (or onto hi); log_prob would then
            # score it in the neighbouring bin (or as -inf). Such rare values (~1e-7) go to their
            # bin's centre, so a sample is always scored in the bin it was drawn from.
            back, inside = self._bin_index(w)
            centre = (self.weight_range[0] + (bins + 0.5) * self.bin_width).to(self._anchor.dtype)
            w = torch.where((back == bins) & inside, w, centre)
        return w.to(device=self._anchor.device)

    def _bin_index(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Bin index (S, n_weights) of each weight and whether it lies in [lo, hi)."""
        lo, hi = self.weight_range
        w = w.detach().double()
        bins = ((w - lo) / self.bin_width).floor().clamp(0, self.dim - 1).long()
        return bins, (w >= lo) & (w < hi)

    def log_prob(self, w: torch.Tensor) -> torch.Tensor:
        """Exact log-density of weight vectors (``bin_jitter`` only).

        Args:
            w: (S, n_weights) weights.

        Returns:
            (S,) log q(w); −inf where any weight lies outside [lo, hi). Differentiable in the
            circuit parameters and the conditioning inputs (not in ``w``: the density is
            piecewise constant).

        Raises:
            NotImplementedError: for ``born`` (no density) and ``semi_implicit`` (a bound only:
                :func:`qcbnn_core.objectives.semi_implicit_log_q`).
            ValueError: on a wrong shape.
        """
        if self.mechanism != "bin_jitter":
            raise NotImplementedError(f"mechanism {self.mechanism!r} has no exact log_prob: 'born' is implicit "
                                      "(adversarial KL), 'semi_implicit' uses the SIVI bound; use 'bin_jitter'")
        w = torch.as_tensor(w, device=self._anchor.device)
        if w.dim() != 2 or w.shape[1] != self.n_weights:
            raise ValueError(f"w must have shape (S, {self.n_weights}), got {tuple(w.shape)}")
        bins, inside = self._bin_index(w)
        inside = inside.all(dim=1)
        q = self.bin_probs()
        # clamp: a bin of probability exactly 0 would give log 0 = -inf and NaN gradients
        log_q = torch.log(q.clamp_min(torch.finfo(q.dtype).tiny)).T  # (D, n_weights)
        picked = torch.gather(log_q, 0, bins).sum(dim=1) - self.n_weights * math.log(self.bin_width)
        return torch.where(inside, picked, torch.full_like(picked, -math.inf))

    def extra_repr(self) -> str:
        return f"n_weights={self.n_weights}, mechanism={self.mechanism}, weight_range={self.weight_range}"


class QuantumWeightGenerator(SimplexWeightGenerator):
    """Draws continuous weight vectors from a parametrised quantum circuit (D = 2^n_qubits outcomes).

    Args:
        config: An :class:`AnsatzConfig` or a preset name (see ``qcbnn_core.ansatz.PRESETS``).
        n_weights: Length of each weight vector (64 = 16 conv kernels of 2×2).
        mechanism: one of :data:`MECHANISMS` (module docstring).
        weight_range: ``(lo, hi)``: the bin range for ``bin_jitter`` (weights lie in [lo, hi));
            the initialisation range of the shifts otherwise (weights are not bounded there).
        seed: Fixes the initial parameters and the default noise stream.
        init_sigma: initial per-weight σ of ``semi_implicit`` (0.05 = the BNN's default).
        device: Where parameters live.
        dtype: ``torch.float32`` (default, fast) or ``torch.float64`` (used by the tests).
        qnode_device: PennyLane device of the reference :attr:`qnode`
            (``"default.qubit"`` or ``"lightning.qubit"``).

    Raises:
        ValueError: on an unknown mechanism, a bad ``n_weights``, ``weight_range`` or ``init_sigma``.
    """

    def __init__(self, config: AnsatzConfig | str = DEFAULT_PRESET, n_weights: int = 64,
                 mechanism: str = "semi_implicit", weight_range: tuple[float, float] = (-1.0, 1.0), seed: int = 0,
                 init_sigma: float = 0.05, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32,
                 qnode_device: str = "default.qubit") -> None:
        config = preset(config) if isinstance(config, str) else config
        if not isinstance(config, AnsatzConfig):
            raise ValueError(f"config must be an AnsatzConfig or a preset name, got {type(config).__name__}")
        if qnode_device not in QNODE_DEVICES:
            raise ValueError(f"qnode_device must be one of {list(QNODE_DEVICES)}, got {qnode_device!r}")
        super().__init__(config.n_qubits, config.dim, n_weights, mechanism, weight_range, seed, init_sigma,
                         device, dtype)
        self.config, self.qnode_device = config, qnode_device
        params = init_params(config, seed=seed, dtype=dtype, device=device)
        self.rot, self.ent = nn.Parameter(params["rot"]), nn.Parameter(params["ent"])
        self._qnode = None

    def circuit_params(self) -> dict[str, torch.Tensor]:
        """Detached copies of the raw circuit parameters ``{"rot": (L, n, k), "ent": (L, G)}``."""
        return {"rot": self.rot.detach().clone(), "ent": self.ent.detach().clone()}

    def probs(self, z: torch.Tensor) -> torch.Tensor:
        """Circuit probabilities for noise/input vectors via the fast path.

        Args:
            z: (S, n_qubits) (or (n_qubits,)).

        Returns:
            (S, 2**n_qubits) (or (2**n_qubits,)), differentiable in the circuit parameters.
        """
        return circuit_probs(self.config, torch.as_tensor(z, device=self.rot.device), self.rot, self.ent)

    @property
    def qnode(self):
        """The reference PennyLane QNode ``qnode(z, rot, ent) -> probs`` (built on first use);
        ``g.qnode(z, g.rot, g.ent)`` equals ``g.probs(z)``."""
        if self._qnode is None:
            self._qnode = make_qnode(self.config, device=self.qnode_device)
        return self._qnode

    def shots(self, z: torch.Tensor, n_shots: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Measure the circuit ``n_shots`` times for one input ``z`` (n_qubits,): bitstring counts.

        Returns:
            (2**n_qubits,) int64 counts; index b is the bitstring ``format(b, f"0{n}b")`` (wire 0 first).
        """
        _check_count(n_shots, "n_shots")
        with torch.no_grad():
            p = self.probs(torch.as_tensor(z, dtype=self.rot.dtype).reshape(self.config.n_qubits))
        return _categorical(p.double().cpu()[None], n_shots, self._noise_gen if generator is None else generator)[0] \
            .bincount(minlength=self.dim)

    def __getstate__(self) -> dict:
        # the QNode holds a local function and cannot be pickled; it is rebuilt on first use
        return {**super().__getstate__(), "_qnode": None}

    def extra_repr(self) -> str:
        return f"{self.config.describe()}; {super().extra_repr()}"


class ClassicalWeightGenerator(SimplexWeightGenerator):
    """The classical control: the same noise, outcomes and weight map as a circuit, with an MLP in its place.

    ``p(z) = softmax(W₂ tanh(W₁ z + b₁) + b₂)`` over D outcomes, for ``z ∈ R^n_noise``; everything after
    ``p`` (Born map, σ-jitter, bins, KL estimators) is shared with :class:`QuantumWeightGenerator`. A gap
    that this model matches is not a quantum effect but one of a low-dimensional noise source.
    Our choices: one tanh hidden layer of ``hidden`` units (16: 6·16+16+16·64+64 = 1 200 parameters
    against the 6-qubit, 3-layer CRX circuit's 36 — the control has *more* capacity, not less), the
    output layer initialised with std 2/√hidden so the logits spread about as much as a random circuit's
    ``D·p − 1`` and the initial weight spread is comparable.

    Args:
        n_noise: noise dimension (the circuit's qubit count).
        dim: D outcomes (``2**n_noise`` for a like-for-like control).
        n_weights, mechanism, weight_range, seed, init_sigma, device, dtype: as in
            :class:`QuantumWeightGenerator`.
        hidden: hidden units.
    """

    def __init__(self, n_noise: int = 6, dim: int = 64, n_weights: int = 64, mechanism: str = "semi_implicit",
                 weight_range: tuple[float, float] = (-1.0, 1.0), seed: int = 0, init_sigma: float = 0.05,
                 hidden: int = 16, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32) -> None:
        _check_count(n_noise, "n_noise")
        _check_count(dim, "dim")
        _check_count(hidden, "hidden")
        super().__init__(n_noise, dim, n_weights, mechanism, weight_range, seed, init_sigma, device, dtype)
        gen = torch_generator(self.seed, "classical-init")
        bound = 1 / math.sqrt(n_noise)
        self.w1 = nn.Parameter(((torch.rand(hidden, n_noise, generator=gen, dtype=torch.float64) * 2 - 1) * bound)
                               .to(device=device, dtype=dtype))
        self.b1 = nn.Parameter(torch.zeros(hidden, device=device, dtype=dtype))
        self.w2 = nn.Parameter((torch.randn(dim, hidden, generator=gen, dtype=torch.float64) * 2 / math.sqrt(hidden))
                               .to(device=device, dtype=dtype))
        self.b2 = nn.Parameter(torch.zeros(dim, device=device, dtype=dtype))

    def probs(self, z: torch.Tensor) -> torch.Tensor:
        """Softmax outputs ``(S, D)`` (or ``(D,)``) for ``z: (S, n_noise)`` (or ``(n_noise,)``)."""
        z = torch.as_tensor(z, device=self.w1.device, dtype=self.w1.dtype)
        return torch.softmax(torch.tanh(z @ self.w1.T + self.b1) @ self.w2.T + self.b2, dim=-1)


def _check_count(n: int, name: str) -> None:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}")


def _categorical(p: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """``n`` draws from each row of ``p`` (R, D) by inverse-CDF sampling: (R, n) int64.

    Inverse CDF: one uniform per draw, vectorised over rows, driven by the given generator.
    """
    cdf = p.cumsum(dim=1)
    u = torch.rand(p.shape[0], n, generator=generator, dtype=p.dtype) * cdf[:, -1:]
    return torch.searchsorted(cdf, u, right=True).clamp(max=p.shape[1] - 1)
