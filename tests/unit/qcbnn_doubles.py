"""Test doubles for the quantum weight generator: same ``sample``/``log_prob`` signature, no circuit.

They let the model/objective/trainer tests run without PennyLane and pin down behaviour that does
not depend on the circuit.
"""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn


class ImplicitDouble(nn.Module):
    """Implicit ("born"-like) generator: uniform noise z (S, k) → tanh(Linear) scaled into (lo, hi)."""

    mechanism = "born"

    def __init__(self, n_weights: int, seed: int = 0, noise_dim: int = 6, weight_range=(-1.0, 1.0)):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.noise_dim, self.lo, self.hi = noise_dim, *weight_range
        self.lin = nn.Linear(noise_dim, n_weights)
        with torch.no_grad():
            self.lin.weight.copy_(torch.randn(n_weights, noise_dim, generator=g) * 0.5)
            self.lin.bias.copy_(torch.randn(n_weights, generator=g) * 0.5)

    def sample(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        z = torch.rand(n_samples, self.noise_dim, generator=generator) * 2 - 1
        return self.lo + (self.hi - self.lo) * (torch.tanh(self.lin(z)) + 1) / 2

    def log_prob(self, w: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("implicit distribution")


class BinJitterDouble(nn.Module):
    """Independent per-weight categorical over K equal bins of (lo, hi) plus uniform jitter in the bin.

    Exact density: ``log q(w) = sum_i [log softmax(logits_i)[bin(w_i)] + log(K / (hi - lo))]``.
    """

    mechanism = "bin_jitter"

    def __init__(self, n_weights: int, seed: int = 0, n_bins: int = 8, weight_range=(-1.0, 1.0)):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.n_bins, self.lo, self.hi = n_bins, *weight_range
        self.logits = nn.Parameter(torch.randn(n_weights, n_bins, generator=g) * 0.1)

    def sample(self, n_samples: int, generator: torch.Generator | None = None) -> torch.Tensor:
        probs = torch.softmax(self.logits.detach(), -1)
        k = torch.multinomial(probs, n_samples, replacement=True, generator=generator).T  # (S, n)
        u = torch.rand(k.shape, generator=generator)
        return self.lo + (self.hi - self.lo) * (k + u) / self.n_bins

    def log_prob(self, w: torch.Tensor) -> torch.Tensor:
        k = ((w - self.lo) / (self.hi - self.lo) * self.n_bins).floor().clamp(0, self.n_bins - 1).long()
        logp = torch.log_softmax(self.logits, -1)
        picked = logp.gather(1, k.T).T  # (S, n)
        return (picked + math.log(self.n_bins / (self.hi - self.lo))).sum(-1)


@pytest.fixture(autouse=True, scope="module")
def torch_one_thread():
    """Run a test module single-threaded. Measured on the shared 2-core CI box: these tiny tensors train
    up to 15× slower with 2 intra-op threads than with 1 (threads spin against each other)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
