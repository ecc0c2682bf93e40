"""Pure computations behind the quantum-weight-generator page (no Streamlit, so tests call them directly).

Every number shown on the page comes from ``qcbnn_core``'s own code path: the weights of a draw are
``QuantumWeightGenerator.sample`` with a seeded generator, and the noise/bitstrings displayed next to
them are recovered from the same seeded stream (``sample`` draws its noise first), never recomputed
with a copy of the generator's formula.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from labkit.seeds import torch_generator
from qcbnn_core import AnsatzConfig, QuantumWeightGenerator, layer_states

N_WEIGHTS = 64  # 16 feature maps × 2×2 kernels: the QCBNN conv layer
N_MAPS, KERNEL = 16, 2


@dataclass(frozen=True)
class Step:
    """One stop of the step-through.

    Attributes:
        title: short label ("Noise z", "After layer 2", …).
        explanation: one sentence for students.
        kind: how to draw ``data``: ``"noise"`` (per-qubit values), ``"probs"`` (basis-state
            probabilities), ``"weights"`` (the weight vector) or ``"kernels"`` (16 × 2 × 2).
        data: the numbers, ``(n,)``, ``(2**n,)``, ``(64,)`` or ``(16, 2, 2)``.
        highlight: index to mark (the measured bitstring, the followed weight), or None.
        block: the circuit block this step is about, as ``qcbnn_core.drawing.draw_mpl(highlight=…)``
            takes it (0 encoding, k layer k, n_layers + 1 measurement), or None (after the circuit).
    """

    title: str
    explanation: str
    kind: str
    data: np.ndarray
    highlight: int | None = None
    block: int | None = None


@dataclass(frozen=True)
class Draw:
    """One weight draw and the path that produced it.

    Attributes:
        z: (n_qubits,) circuit input of the followed path (noise for ``born``, conditioning input c_j
            for ``bin_jitter``).
        weights: (64,) the drawn weights (``QuantumWeightGenerator.sample``).
        steps: the step-through, in order.
    """

    z: np.ndarray
    weights: np.ndarray
    steps: list[Step]


def build_generator(config: AnsatzConfig, mechanism: str, seed: int) -> QuantumWeightGenerator:
    """The (untrained) generator the page shows; its parameters are fixed by ``seed``."""
    return QuantumWeightGenerator(config, n_weights=N_WEIGHTS, mechanism=mechanism, seed=seed)


def draw_stream(seed: int, draw: int) -> torch.Generator:
    """The random stream of draw number ``draw`` (so "next draw" and a shared link reproduce it)."""
    return torch_generator(int(seed), "draw", int(draw))


def one_draw(config: AnsatzConfig, mechanism: str, seed: int, draw: int, follow: int = 0) -> Draw:
    """Draw one weight vector and record every stop of its path.

    Args:
        config: the ansatz.
        mechanism: one of ``qcbnn_core.generator.MECHANISMS``.
        seed: generator parameters (and the draw stream).
        draw: which draw of the stream (0, 1, …).
        follow: for ``bin_jitter``, the weight j whose circuit run is stepped through.

    Returns:
        A :class:`Draw`.
    """
    if not 0 <= follow < N_WEIGHTS:
        raise ValueError(f"follow must be a weight index in 0..{N_WEIGHTS - 1}, got {follow}")
    g = build_generator(config, mechanism, seed)
    with torch.no_grad():
        w = g.sample(1, generator=draw_stream(seed, draw))[0].double().numpy()
    n, dim = config.n_qubits, config.dim
    steps: list[Step] = []
    if mechanism != "bin_jitter":
        # sample() draws its noise first from the stream: the same seeded stream gives the z it used.
        k = -(-N_WEIGHTS // dim)
        z = g.sample_noise(k, draw_stream(seed, draw))[0].double().numpy()
        steps.append(Step("Noise z", f"Classical noise: one number z_q ~ U[-1, 1] per qubit ({n} numbers). "
                          "A new z gives new weights; this is the only randomness of the Born machine.", "noise", z,
                          block=0))
    else:
        z = g.cond.detach()[follow].double().numpy()
        steps.append(Step(f"Input c_{follow} of weight {follow}",
                          f"bin+jitter runs the circuit once per weight; weight {follow} enters its own learnable "
                          "input c_j (no noise here: the randomness comes from the measurement).", "noise", z,
                          block=0))
    states = layer_states(config, g.circuit_params(), z)
    enc_text = {"ry_uniform": "RY(π·z_q)", "rxrz_uniform": "RX(π·z_q) then RZ(π·z_q)",
                "h_rz_uniform": "H then RZ(π·z_q) (phases only: the probabilities stay flat until layers mix them)"}
    steps.append(Step("Encoding", f"Each qubit q starts in |0⟩ and gets {enc_text[config.encoding]}; the bars are "
                      f"the probabilities of the {dim} basis states.", "probs", states[1][1], block=0))
    for layer, (_, probs) in enumerate(states[2:], 1):
        ent = {"none": "no entangling gates", "cnot_ring": "a fixed CNOT ring",
               "crx_ring": "a ring of learnable CRX gates", "all_to_all": "learnable CRX gates between all pairs"}
        steps.append(Step(f"After layer {layer}", f"Layer {layer}: trainable {config.rotations.upper()} rotations "
                          f"on every qubit, then {ent[config.entanglement]}.", "probs", probs, block=layer))
    p = states[-1][1]
    if mechanism != "bin_jitter":
        steps.append(Step("Measurement", "We read out the exact probabilities p_b of all bitstrings b (the simulator "
                          "gives them; hardware would estimate them from shots).", "probs", p,
                           block=config.n_layers + 1))
        extra = f" The first {dim} weights use this z; the rest use {k - 1} more noise draws." if k > 1 else ""
        jitter = (" Semi-implicit: each weight then gets its own Gaussian jitter σ_j·ε_j, so the weights fill "
                  "all of weight space instead of a surface of noise dimension." if mechanism == "semi_implicit" else "")
        steps.append(Step("Continuous weights", f"w_j = shift_j + scale_j·({dim}·p_j − 1): p moves smoothly "
                          f"with z, so the weights are continuous random numbers.{extra}{jitter}", "weights", w))
    else:
        lo, hi = g.weight_range
        bit = int(min(max(math.floor((w[follow] - lo) / g.bin_width), 0), dim - 1))
        steps.append(Step("Measurement", f"Measuring gives one bitstring b with probability q_{follow}(b); this draw "
                          f"gave b = {format(bit, f'0{n}b')} (bin {bit}).", "probs", p, highlight=bit,
                           block=config.n_layers + 1))
        steps.append(Step("Continuous weights", f"w_j = lo + (b_j + u_j)·Δ with uniform jitter u_j in [0, 1) and "
                          f"Δ = ({hi:g} − {lo:g})/{dim}: a continuous weight with an exact density. "
                          f"w_{follow} = {w[follow]:.3f}.", "weights", w, highlight=follow))
    steps.append(Step("2×2 kernels", f"The {N_WEIGHTS} weights fill the 16 feature maps' 2×2 convolution kernels "
                      "of the Bayesian CNN (row by row).", "kernels", w.reshape(N_MAPS, KERNEL, KERNEL)))
    return Draw(z=z, weights=w, steps=steps)


def many_draws(config: AnsatzConfig, mechanism: str, seed: int, n_draws: int) -> np.ndarray:
    """``n_draws`` weight vectors ``(n_draws, 64)`` from the draw stream after the step-through ones."""
    g = build_generator(config, mechanism, seed)
    with torch.no_grad():
        return g.sample(n_draws, generator=draw_stream(seed, 10**6)).double().numpy()


def shots(config: AnsatzConfig, mechanism: str, seed: int, z: np.ndarray,
          n_shots: int) -> tuple[np.ndarray, np.ndarray]:
    """Measure the circuit ``n_shots`` times on input ``z`` (n,).

    Returns:
        ``(counts (2**n,) int, exact probabilities (2**n,))``.
    """
    g = build_generator(config, mechanism, seed)
    zt = torch.as_tensor(np.asarray(z), dtype=torch.float32)
    counts = g.shots(zt, n_shots, generator=draw_stream(seed, 10**6 + 1)).numpy()
    with torch.no_grad():
        exact = g.probs(zt).double().numpy()
    return counts, exact


def correlation(samples: np.ndarray) -> np.ndarray:
    """Pearson correlation ``(64, 64)`` between weights over draws; 0 where a weight does not vary."""
    x = samples - samples.mean(0)
    sd = np.sqrt((x**2).mean(0))
    safe = np.where(sd > 0, sd, 1.0)
    corr = (x.T @ x) / len(x) / np.outer(safe, safe)
    corr[sd == 0, :] = 0.0
    corr[:, sd == 0] = 0.0
    return corr


def skewness(samples: np.ndarray) -> np.ndarray:
    """Sample skewness E[(w - mean)^3] / std^3 of each column of ``samples`` (S, W); 0 for a constant column."""
    x = samples - samples.mean(0)
    sd = np.sqrt((x**2).mean(0))
    return np.where(sd > 0, (x**3).mean(0) / np.where(sd > 0, sd, 1.0) ** 3, 0.0)


SKEWED = 0.5  # |skewness| above this is visibly lopsided in a histogram


def per_weight_summary(samples: np.ndarray, chosen: list[int], prior_sigma: float) -> str:
    """Markdown: each chosen weight's mean, std and skewness, then how all weights compare with the prior.

    Pooling all 64 weights into one mean and std can look like the prior (mean ≈ 0, std ≈ 1) while
    every single weight is strongly skewed; the prior is a statement about each weight, so each
    weight is reported on its own.
    """
    skew = skewness(samples)
    lines = [f"w_{j}: mean {samples[:, j].mean():+.2f}, std {samples[:, j].std():.2f}, skew {skew[j]:+.2f}"
             for j in chosen]
    typical = float(np.median(np.abs(skew)))
    lopsided = int((np.abs(skew) > SKEWED).sum())
    if lopsided:
        verdict = (f"{lopsided} of {samples.shape[1]} weights are skewed (|skew| > {SKEWED}; median |skew| "
                   f"{typical:.2f}), while the prior N(0, {prior_sigma:g}²) is symmetric: judge the generator by "
                   "each weight's own histogram, not by a mean and std pooled over all weights.")
    else:
        verdict = (f"No weight is visibly skewed (all |skew| ≤ {SKEWED}), like the symmetric prior "
                   f"N(0, {prior_sigma:g}²); compare each weight's std with σ = {prior_sigma:g}.")
    return f"Each weight on its own over {len(samples)} draws: " + "; ".join(lines) + ". " + verdict
