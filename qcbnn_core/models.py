"""The QCBNN and its controls: one small network, four ways to get its first-layer weights.

Architecture (from the paper, as far as known): one convolution layer with 16 feature maps of 2×2
kernels on one input channel (64 weights), one fully connected layer. **Our choices** (the paper's
text is not available to us): stride 2 without padding or pooling (see :class:`MCNet`), ReLU, a
deterministic per-map conv bias, and a deterministic (point-estimate) FC layer in every model, so
that the models differ *only* in how the 64 conv weights are obtained:

* ``qcbnn``: drawn from the quantum weight generator (semi-implicit, implicit or bin+jitter; see
  :mod:`qcbnn_core.generator`);
* ``mlp``: the classical control — the same noise dimension, outcomes, weight map and mechanism with a
  small MLP in the circuit's place (:class:`~qcbnn_core.generator.ClassicalWeightGenerator`): it tells a
  quantum effect from an effect of low-dimensional noise;
* ``bnn``: mean-field Gaussian ``N(mu, sigma^2)`` per weight (Bayes by Backprop), trained with the
  local reparameterisation trick (Kingma et al. 2015);
* ``cnn``: one point estimate (S draws are S identical copies: zero epistemic uncertainty; its only
  uncertainty is the softmax entropy).

For tabular inputs (``input_shape == (F,)``) a dense layer ``F → 16`` takes the conv layer's place
and is the stochastic one (``16·F`` weights).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import nn

from labkit.config import Config

from .generator import MECHANISMS

MODEL_KINDS = ("qcbnn", "bnn", "cnn", "mlp")
MODEL_LABELS = {"qcbnn": "QCBNN (quantum generator)", "bnn": "BNN (mean-field Gaussian)",
                "cnn": "CNN (deterministic)", "mlp": "MLP generator (classical control)"}
GeneratorFactory = Callable[[int, int], nn.Module]
"""``factory(n_weights, seed) -> module`` with ``sample(S, generator=None) -> (S, n_weights)``."""


def _noise(shape: tuple[int, ...], generator: torch.Generator | None, like: torch.Tensor) -> torch.Tensor:
    """Standard normal noise drawn on the CPU (so a seed gives the same numbers on every device)."""
    return torch.randn(shape, generator=generator, dtype=like.dtype).to(like.device)


class WeightSource(nn.Module):
    """Where the first layer's ``n_weights`` come from. Subclasses implement :meth:`sample`."""

    n_weights: int

    def sample(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``(S, n_weights)`` weights."""
        raise NotImplementedError

    def preactivation(
        self, x: torch.Tensor, op: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], n_samples: int,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """First-layer outputs ``op(x, w)`` for ``S`` weight draws: ``(S, B, ...)``."""
        return op(x, self.sample(n_samples, generator))


class GeneratorWeights(WeightSource):
    """Weights from a generator module (quantum or its classical control).

    The generator is an ordinary submodule, so ``.to(device)`` moves it with the network; its own
    parameter dtype may differ (float64 for exact tests), so its samples are cast to the network's
    device and dtype, which the ``anchor`` buffer follows through every ``.to()``/``.double()``.
    """

    def __init__(self, generator_module: nn.Module, n_weights: int):
        super().__init__()
        self.generator = generator_module
        self.n_weights = n_weights
        self.register_buffer("anchor", torch.zeros(()), persistent=False)  # not in state_dict: old model.pt loads

    def sample(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        w = self.generator.sample(n_samples, generator=generator)
        if w.shape != (n_samples, self.n_weights):
            raise ValueError(f"generator returned {tuple(w.shape)}, expected {(n_samples, self.n_weights)}")
        return self.to_device(w)

    def to_device(self, w: torch.Tensor) -> torch.Tensor:
        """Generator output → the network's device and dtype."""
        return w.to(self.anchor)

    def log_prob(self, w: torch.Tensor) -> torch.Tensor:
        """Exact log-density ``(S,)`` of weights ``w: (S, n_weights)`` (bin+jitter generators only)."""
        return self.generator.log_prob(w.detach()).to(w.device)


class GaussianWeights(WeightSource):
    """Mean-field Gaussian weights ``w = mu + softplus(rho) * eps`` (Blundell et al. 2015).

    In training mode :meth:`preactivation` uses the local reparameterisation trick: for a linear
    ``op`` the pre-activation is Gaussian with mean ``op(x, mu)`` and variance ``op(x^2, sigma^2)``,
    sampled directly (independent weights per input; lower-variance gradients). In eval mode it draws
    whole weight vectors, so one draw is shared by all inputs like the quantum model's.
    """

    def __init__(self, n_weights: int, fan_in: int, init_sigma: float = 0.05):
        super().__init__()
        self.n_weights = n_weights
        bound = 1.0 / math.sqrt(fan_in)
        self.mu = nn.Parameter(torch.empty(n_weights).uniform_(-bound, bound))
        # softplus^-1(init_sigma)
        self.rho = nn.Parameter(torch.full((n_weights,), math.log(math.expm1(init_sigma))))

    @property
    def sigma(self) -> torch.Tensor:
        """Per-weight standard deviation ``(n_weights,)``."""
        return F.softplus(self.rho)

    def sample(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        eps = _noise((n_samples, self.n_weights), generator, self.mu)
        return self.mu + self.sigma * eps

    def preactivation(self, x, op, n_samples, generator=None):
        if not self.training:
            return super().preactivation(x, op, n_samples, generator)
        mean = op(x, self.mu[None])
        var = op(x * x, (self.sigma**2)[None])
        eps = _noise((n_samples, *mean.shape[1:]), generator, mean)
        return mean + torch.sqrt(var.clamp_min(1e-16)) * eps


class PointWeights(WeightSource):
    """A single weight vector; ``S`` draws are ``S`` identical copies (computed once)."""

    def __init__(self, n_weights: int, fan_in: int):
        super().__init__()
        self.n_weights = n_weights
        bound = 1.0 / math.sqrt(fan_in)
        self.w = nn.Parameter(torch.empty(n_weights).uniform_(-bound, bound))

    def sample(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.w[None].expand(n_samples, -1)

    def preactivation(self, x, op, n_samples, generator=None):
        out = op(x, self.w[None])
        return out.expand(n_samples, *out.shape[1:])


class MCNet(nn.Module):
    """One stochastic first layer (conv 2×2×16 or dense F×16) + bias + ReLU + one FC layer.

    Args:
        source: the first layer's weight source (``source.n_weights`` must match the layer).
        input_shape: ``(1, H, W)`` for images or ``(F,)`` for tabular inputs.
        n_classes: output classes.
        n_maps: conv feature maps / dense hidden units (16 in the paper).
        kernel: conv kernel side (2 in the paper).
        stride: conv stride. Our choice: 2 (non-overlapping 2×2 patches, no pooling): it keeps the paper's
            kernel and map count, loses no pixel, and is 4× cheaper than stride 1, which matters for the
            "train in about a minute on 2 CPU cores" target.
    """

    def __init__(self, source: WeightSource, input_shape: tuple[int, ...], n_classes: int = 2,
                 n_maps: int = 16, kernel: int = 2, stride: int = 2):
        super().__init__()
        self.input_shape = tuple(int(s) for s in input_shape)
        self.tabular = len(self.input_shape) == 1
        self.n_maps, self.kernel, self.stride = n_maps, kernel, stride
        expected = first_layer_size(self.input_shape, n_maps, kernel)
        if source.n_weights != expected:
            raise ValueError(f"weight source has {source.n_weights} weights, the first layer needs {expected}")
        self.source = source
        self.bias = nn.Parameter(torch.zeros(n_maps))
        self.fc = nn.Linear(self.n_positions * n_maps, n_classes)

    @property
    def n_positions(self) -> int:
        """Spatial positions L of the conv output (1 for the dense layer)."""
        if self.tabular:
            return 1
        return math.prod((s - self.kernel) // self.stride + 1 for s in self.input_shape[1:])

    def first_layer(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Apply the first layer with ``S`` weight vectors at once (no bias).

        The convolution is written as patches @ kernels: one matmul for all draws and maps.

        Args:
            x: ``(B, 1, H, W)`` or ``(B, F)``.
            w: ``(S, n_weights)``.

        Returns:
            ``(S, B, L, M)`` with L spatial positions (1 for the dense layer), M maps.
        """
        s = w.shape[0]
        if self.tabular:
            return torch.einsum("bf,smf->sbm", x, w.reshape(s, self.n_maps, -1))[:, :, None, :]
        patches = _patches(x, self.kernel, self.stride)  # (B, L, k*k)
        out = patches @ w.reshape(s * self.n_maps, -1).T  # (B, L, S*M)
        b, length, _ = out.shape
        return out.reshape(b, length, s, self.n_maps).permute(2, 0, 1, 3)

    def head(self, pre: torch.Tensor) -> torch.Tensor:
        """Bias, ReLU and the FC layer: ``(S, B, L, M) -> logits (S, B, C)``."""
        s, b = pre.shape[:2]
        return self.fc(F.relu(pre + self.bias).reshape(s, b, -1))

    def forward(self, x: torch.Tensor, n_samples: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """Training path: logits ``(S, B, C)`` for ``S`` draws (local reparameterisation for ``bnn``)."""
        return self.head(self.source.preactivation(x, self.first_layer, n_samples, generator))

    def logits_with(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Logits ``(S, B, C)`` for given first-layer weights ``w: (S, n_weights)``."""
        return self.head(self.first_layer(x, w))

    @torch.no_grad()
    def predict_proba(self, x: torch.Tensor, n_samples: int = 64, generator: torch.Generator | None = None,
                      max_elements: int = 2**22) -> torch.Tensor:
        """Monte-Carlo class probabilities ``(S, N, C)``; each of the ``S`` weight draws is shared by all N inputs.

        Args:
            x: ``(N, *input_shape)``.
            n_samples: weight draws S.
            generator: CPU ``torch.Generator`` for the draws.
            max_elements: bound on the first layer's activation size per chunk (memory).
        """
        was_training = self.training
        self.eval()
        try:
            w = self.source.sample(n_samples, generator)
            chunk = max(1, max_elements // (self.n_positions * self.n_maps * n_samples))
            # One output written chunk by chunk: a list of chunks plus torch.cat held every chunk twice,
            # and glibc kept the freed chunks' memory (the server's RSS grew ~15 MB per chunk).
            out: torch.Tensor | None = None
            for start in range(0, x.shape[0], chunk):
                probs = F.softmax(self.logits_with(x[start:start + chunk], w), dim=-1)
                if out is None:
                    out = probs.new_empty((probs.shape[0], x.shape[0], probs.shape[2]))
                out[:, start:start + chunk] = probs
            return out
        finally:
            self.train(was_training)


def _patches(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """Image patches ``(B, L, kernel²)`` of ``x: (B, 1, H, W)``, row-major over positions."""
    b, _, h, w = x.shape
    if stride == kernel:  # non-overlapping: a reshape, much cheaper than unfold (im2col) on a CPU
        hh, ww = h // kernel, w // kernel
        x = x[:, 0, : hh * kernel, : ww * kernel].reshape(b, hh, kernel, ww, kernel)
        return x.permute(0, 1, 3, 2, 4).reshape(b, hh * ww, kernel * kernel)
    return F.unfold(x, kernel, stride=stride).transpose(1, 2)


def first_layer_size(input_shape: tuple[int, ...], n_maps: int = 16, kernel: int = 2) -> int:
    """Number of stochastic weights: ``n_maps·kernel²`` (conv, 64 in the paper) or ``n_maps·F`` (dense)."""
    if len(input_shape) == 1:
        return n_maps * int(input_shape[0])
    if len(input_shape) != 3 or input_shape[0] != 1:
        raise ValueError(f"input_shape must be (1, H, W) or (F,), got {tuple(input_shape)}")
    if min(input_shape[1:]) < kernel:
        raise ValueError(f"images of {tuple(input_shape[1:])} are smaller than the {kernel}×{kernel} kernel")
    return n_maps * kernel * kernel


@dataclass(frozen=True)
class ModelConfig(Config):
    """What to build.

    Args:
        kind: one of :data:`MODEL_KINDS` (``"qcbnn"``, ``"bnn"``, ``"cnn"``, ``"mlp"``).
        ansatz: ansatz preset name (see :data:`qcbnn_core.ansatz.PRESETS`) for ``qcbnn``; for ``mlp`` its
            qubit count is the noise dimension and ``2**n_qubits`` the number of outcomes.
        ansatz_overrides: fields to change in the preset (e.g. ``{"n_layers": 2}``).
        mechanism: ``"semi_implicit"`` (SIVI bound, default), ``"born"`` (implicit, adversarial KL) or
            ``"bin_jitter"`` (exact log-density, MC KL); for ``qcbnn`` and ``mlp``.
        weight_range: interval the quantum generator maps to. Our choice: (-1, 1), about twice the
            classical init bound for a 2×2 kernel.
        n_maps, kernel, stride: see :class:`MCNet`.
        init_sigma: initial std of the Gaussian baseline's weights and of the semi-implicit jitter σ.
        mlp_hidden: hidden units of the ``mlp`` control's generator.
    """

    kind: str = "qcbnn"
    ansatz: str = "constrained_crx"
    ansatz_overrides: dict = field(default_factory=dict)
    mechanism: str = "semi_implicit"
    weight_range: tuple[float, float] = (-1.0, 1.0)
    n_maps: int = 16
    kernel: int = 2
    stride: int = 2
    init_sigma: float = 0.05
    mlp_hidden: int = 16

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {self.kind!r}")
        if self.mechanism not in MECHANISMS:
            raise ValueError(f"mechanism must be one of {MECHANISMS}, got {self.mechanism!r}")
        lo, hi = self.weight_range
        if not lo < hi:
            raise ValueError(f"weight_range must be (low, high) with low < high, got {self.weight_range}")
        self._normalise("weight_range", (float(lo), float(hi)))  # JSON gives a list back
        self._normalise("ansatz_overrides", dict(self.ansatz_overrides))  # a copy: the caller's dict may change
        for name in ("n_maps", "kernel", "stride", "mlp_hidden"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.init_sigma > 0:
            raise ValueError(f"init_sigma must be > 0, got {self.init_sigma}")


def _generator_factory(cfg: ModelConfig) -> GeneratorFactory:
    from .ansatz import preset
    from .generator import ClassicalWeightGenerator, QuantumWeightGenerator

    ansatz = preset(cfg.ansatz, **cfg.ansatz_overrides)
    common = {"mechanism": cfg.mechanism, "weight_range": cfg.weight_range, "init_sigma": cfg.init_sigma}
    if cfg.kind == "mlp":
        return lambda n_weights, seed: ClassicalWeightGenerator(
            ansatz.n_qubits, ansatz.dim, n_weights, seed=seed, hidden=cfg.mlp_hidden, **common)
    return lambda n_weights, seed: QuantumWeightGenerator(ansatz, n_weights=n_weights, seed=seed, **common)


def build_model(cfg: ModelConfig, input_shape: tuple[int, ...], n_classes: int = 2, seed: int = 0,
                generator_factory: GeneratorFactory | None = None) -> MCNet:
    """Build a model, its initial weights fixed by ``seed`` (the global torch RNG is left untouched).

    Args:
        cfg: the model configuration.
        input_shape: ``(1, H, W)`` or ``(F,)``.
        n_classes: output classes.
        seed: initialisation seed (also passed to the quantum generator).
        generator_factory: ``(n_weights, seed) -> module`` replacing the generator of ``qcbnn``/``mlp`` (tests).
    """
    n_w = first_layer_size(tuple(input_shape), cfg.n_maps, cfg.kernel)
    fan_in = cfg.kernel * cfg.kernel if len(input_shape) == 3 else int(input_shape[0])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if cfg.kind in ("qcbnn", "mlp"):
            factory = generator_factory or _generator_factory(cfg)
            source: WeightSource = GeneratorWeights(factory(n_w, seed), n_w)
        elif cfg.kind == "bnn":
            source = GaussianWeights(n_w, fan_in, cfg.init_sigma)
        else:
            source = PointWeights(n_w, fan_in)
        return MCNet(source, input_shape, n_classes, cfg.n_maps, cfg.kernel, cfg.stride)
