"""Quantum weight generator: a parametrised circuit that produces continuous random weights.

Two continuity mechanisms (the circuit itself only has 2^n discrete outcomes):

``mechanism="born"`` — noise-injected Born machine (continuous, *implicit* density).
    One weight vector per noise draw ``z ~ U[-1, 1]^n``: ``p = |U(θ) E(z)|0…0⟩|²`` is a point on
    the probability simplex (D = 2^n numbers) that moves continuously with z; an affine map turns
    it into weights, ``w_j = shift_j + scale_j · (D·p_j − 1)`` (our choice: ``D·p_j`` is 1 on
    average, so ``shift_j`` is the weight's location and ``scale_j`` its spread; both are
    learnable per weight, initialised ``shift_j ~ U(weight_range)`` — like a usual conv init,
    which breaks the symmetry between feature maps — and ``scale_j = (hi − lo)/8``). With n = 6,
    one draw's 64 probabilities become the 64 conv weights (16 kernels of 2×2). If
    ``n_weights > D``, each sample uses ``ceil(n_weights/D)`` independent draws, concatenated;
    if ``n_weights < D``, the first ``n_weights`` probabilities are used.
    ``sample`` is differentiable (reparameterised through z); there is no closed-form density,
    so ``log_prob`` raises and a KL term must be estimated (e.g. adversarially).

``mechanism="bin_jitter"`` — bitstring + uniform jitter (continuous, *exact* density).
    ``weight_range = [lo, hi)`` is cut into D = 2^n equal bins of width Δ. Weight j is drawn
    independently: measure the circuit on the input state ``E(c_j)`` to get a bitstring b (bin
    index) with probability ``q_j(b) = |⟨b|U(θ)E(c_j)|0…0⟩|²``, then ``w_j = lo + (b + u)·Δ`` with
    ``u ~ U[0, 1)``. The per-weight conditioning inputs ``c_j ∈ R^n`` (learnable, initialised
    uniform in [-1, 1] like a noise draw) let one shared circuit give every weight its own
    distribution. Density: ``log q(w) = Σ_j [log q_j(bin(w_j)) − log Δ]`` on the box, −∞ outside;
    it integrates to 1 (tested). ``sample`` is NOT differentiable (a discrete draw; returned
    detached); ``log_prob`` IS differentiable in θ and c, for a score-function (REINFORCE)
    gradient and for an exact Monte-Carlo KL. Weights are independent across j (a mean-field
    family whose marginals are arbitrary 2^n-bin histograms) — our design choice; the paper's
    exact construction is not available to us.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from torch import nn

from labkit.seeds import torch_generator

from .ansatz import DEFAULT_PRESET, AnsatzConfig, init_params, preset
from .circuit import QNODE_DEVICES, make_qnode
from .simulator import circuit_probs

MECHANISMS = ("born", "bin_jitter")


class QuantumWeightGenerator(nn.Module):
    """Draws continuous weight vectors from a parametrised quantum circuit.

    Args:
        config: An :class:`AnsatzConfig` or a preset name (see ``qcbnn_core.ansatz.PRESETS``).
        n_weights: Length of each weight vector (64 = 16 conv kernels of 2×2).
        mechanism: ``"born"`` or ``"bin_jitter"`` (module docstring).
        weight_range: ``(lo, hi)``: the bin range for ``bin_jitter`` (weights lie in [lo, hi));
            the initialisation scale for ``born`` (weights are not bounded there).
        seed: Fixes the initial parameters and the default noise stream.
        device: Where parameters live.
        dtype: ``torch.float32`` (default, fast) or ``torch.float64`` (used by the tests).
        qnode_device: PennyLane device of the reference :attr:`qnode`
            (``"default.qubit"`` or ``"lightning.qubit"``).

    Raises:
        ValueError: on an unknown mechanism, a bad ``n_weights`` or ``weight_range``.
    """

    def __init__(self, config: AnsatzConfig | str = DEFAULT_PRESET, n_weights: int = 64, mechanism: str = "born",
                 weight_range: tuple[float, float] = (-1.0, 1.0), seed: int = 0, device: str | torch.device = "cpu",
                 dtype: torch.dtype = torch.float32, qnode_device: str = "default.qubit") -> None:
        super().__init__()
        config = preset(config) if isinstance(config, str) else config
        if not isinstance(config, AnsatzConfig):
            raise ValueError(f"config must be an AnsatzConfig or a preset name, got {type(config).__name__}")
        if mechanism not in MECHANISMS:
            raise ValueError(f"mechanism must be one of {list(MECHANISMS)}, got {mechanism!r}")
        _check_count(n_weights, "n_weights")
        n_weights = int(n_weights)
        lo, hi = (float(v) for v in weight_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ValueError(f"weight_range must be two finite numbers lo < hi, got {weight_range!r}")
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
        if qnode_device not in QNODE_DEVICES:
            raise ValueError(f"qnode_device must be one of {list(QNODE_DEVICES)}, got {qnode_device!r}")
        self.config, self.n_weights, self.mechanism = config, n_weights, mechanism
        self.weight_range, self.seed, self.qnode_device = (lo, hi), int(seed), qnode_device
        params = init_params(config, seed=seed, dtype=dtype, device=device)
        self.rot, self.ent = nn.Parameter(params["rot"]), nn.Parameter(params["ent"])
        init_gen = torch_generator(self.seed, "init")
        if mechanism == "born":
            shift = lo + (hi - lo) * torch.rand(n_weights, generator=init_gen, dtype=torch.float64)
            self.shift = nn.Parameter(shift.to(device=device, dtype=dtype))
            self.scale = nn.Parameter(torch.full((n_weights,), (hi - lo) / 8, device=device, dtype=dtype))
        else:
            cond = torch.rand(n_weights, config.n_qubits, generator=init_gen, dtype=torch.float64) * 2 - 1
            self.cond = nn.Parameter(cond.to(device=device, dtype=dtype))
        self._noise_gen = torch_generator(self.seed, "noise")
        self._qnode = None

    # --- circuit -----------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        """Number of circuit outcomes, ``2**n_qubits``."""
        return self.config.dim

    @property
    def bin_width(self) -> float:
        """Δ = (hi − lo) / 2**n_qubits, the width of one ``bin_jitter`` bin."""
        lo, hi = self.weight_range
        return (hi - lo) / self.dim

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

    def sample_noise(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Noise draws ``z ~ U[-1, 1]^n`` of shape (n_samples, n_qubits) (CPU generator, then moved)."""
        _check_count(n_samples, "n_samples")
        gen = self._noise_gen if generator is None else generator
        z = torch.rand(n_samples, self.config.n_qubits, generator=gen, dtype=torch.float64) * 2 - 1
        return z.to(device=self.rot.device, dtype=self.rot.dtype)

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

    # --- weights -----------------------------------------------------------------------------
    def bin_probs(self) -> torch.Tensor:
        """``q_j(b)`` for ``bin_jitter``: (n_weights, 2**n_qubits), rows sum to 1; differentiable."""
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
            (S, n_weights). ``born``: differentiable in all parameters. ``bin_jitter``: detached
            (discrete draw; use :meth:`log_prob` for gradients).
        """
        _check_count(n_samples, "n_samples")
        gen = self._noise_gen if generator is None else generator
        if self.mechanism == "born":
            k = -(-self.n_weights // self.dim)
            p = self.probs(self.sample_noise(n_samples * k, gen)).reshape(n_samples, k * self.dim)
            return self.shift + self.scale * (self.dim * p[:, : self.n_weights] - 1)
        with torch.no_grad():
            q = self.bin_probs().double().cpu()
            bins = _categorical(q, n_samples, gen).T  # (S, n_weights)
            u = torch.rand(n_samples, self.n_weights, generator=gen, dtype=torch.float64)
            w = (self.weight_range[0] + (bins + u) * self.bin_width).to(self.rot.dtype)
            # Rounding to float32 can push a value onto a bin edge (or onto hi); log_prob would then
            # score it in the neighbouring bin (or as -inf). Such rare values (~1e-7) go to their
            # bin's centre, so a sample is always scored in the bin it was drawn from.
            back, inside = self._bin_index(w)
            centre = (self.weight_range[0] + (bins + 0.5) * self.bin_width).to(self.rot.dtype)
            w = torch.where((back == bins) & inside, w, centre)
        return w.to(device=self.rot.device)

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
            NotImplementedError: for ``mechanism="born"`` (implicit density).
            ValueError: on a wrong shape.
        """
        if self.mechanism != "bin_jitter":
            raise NotImplementedError("the Born-machine generator has an implicit density: no exact log_prob; "
                                      "estimate KL terms adversarially or use mechanism='bin_jitter'")
        w = torch.as_tensor(w, device=self.rot.device)
        if w.dim() != 2 or w.shape[1] != self.n_weights:
            raise ValueError(f"w must have shape (S, {self.n_weights}), got {tuple(w.shape)}")
        bins, inside = self._bin_index(w)
        inside = inside.all(dim=1)
        q = self.bin_probs()
        # clamp: a bin of probability exactly 0 would give log 0 = -inf and NaN gradients
        log_q = torch.log(q.clamp_min(torch.finfo(q.dtype).tiny)).T  # (D, n_weights)
        picked = torch.gather(log_q, 0, bins).sum(dim=1) - self.n_weights * math.log(self.bin_width)
        return torch.where(inside, picked, torch.full_like(picked, -math.inf))

    def __getstate__(self) -> dict:
        # the QNode holds a local function and cannot be pickled; it is rebuilt on first use
        return {**super().__getstate__(), "_qnode": None}

    def extra_repr(self) -> str:
        return (f"{self.config.describe()}; n_weights={self.n_weights}, mechanism={self.mechanism}, "
                f"weight_range={self.weight_range}")


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
