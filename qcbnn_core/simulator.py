"""Fast batched statevector simulation of an :class:`AnsatzConfig` circuit in pure torch.

Why not just call the QNode: S noise draws through a (broadcast) QNode cost time that grows
with S and carries PennyLane's per-call overhead. Here the *trainable* part of the circuit is
shared by all draws, so it is built once per call as one ``2^n × 2^n`` unitary ``U(θ)`` with a
handful of batched torch ops (single-qubit rotations of all layers as Kronecker products, CRX
gates as "diagonal + flipped-row" updates, the CNOT ring as one row permutation); only the
encoding differs per draw, and an encoded state is a Kronecker product of per-qubit 2-vectors.
Probabilities for S draws are then ``|Φ_enc Uᵀ|²``: one (S, D) × (D, D) matmul.

Index convention as in PennyLane: wire 0 is the most significant bit of a basis index.
Everything is differentiable by torch autograd; tests check probabilities and gradients
against :func:`qcbnn_core.circuit.make_qnode` to 1e-6 in float64.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from .ansatz import AnsatzConfig


def _complex_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def is_real_circuit(config: AnsatzConfig) -> bool:
    """True when every amplitude stays real (RY rotations, RY encoding, no CRX), so the fast
    path can use real arithmetic (about 4× fewer flops than complex)."""
    return config.rotations == "ry" and config.encoding == "ry_uniform" and not config.learnable_entanglement


def _bit(index: torch.Tensor, wire: int, n: int) -> torch.Tensor:
    return (index >> (n - 1 - wire)) & 1


@functools.lru_cache(maxsize=64)
def _entangler_indices(config: AnsatzConfig, device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Precomputed index data for one layer's entangler.

    Returns:
        For ``"cnot_ring"``: (perm (D,), None) with ``(E x)[r] = x[perm[r]]`` for the whole ring.
        For CRX entanglers: (flip (G, D), ctrl (G, D) bool) with, per gate g,
        ``(M_g x)[r] = a x[r] + b x[flip[g, r]]`` where (a, b) = (1, 0) if not ctrl[g, r] else
        (cos φ/2, -i sin φ/2).
    """
    n, r = config.n_qubits, torch.arange(config.dim, device=device)
    pairs = config.entangler_pairs
    if config.entanglement == "cnot_ring":
        perm = r.clone()
        for c, t in pairs:  # composing y[r] = x[f(r)] gate after gate gives perm = perm[f]
            perm = perm[r ^ (_bit(r, c, n) << (n - 1 - t))]
        return perm, None
    flip = torch.stack([r ^ (1 << (n - 1 - t)) for _, t in pairs])
    ctrl = torch.stack([_bit(r, c, n).bool() for c, _ in pairs])
    return flip, ctrl


def rotation_matrices(config: AnsatzConfig, rot: torch.Tensor, real: bool = False) -> torch.Tensor:
    """Single-qubit rotation matrices of every layer and wire.

    Args:
        rot: raw parameters (L, n, k).
        real: return a real tensor (only valid for ``rotations="ry"``).

    Returns:
        (L, n, 2, 2) matrices, complex unless ``real``.
    """
    a = config.angles(rot)
    c, s = torch.cos(a[..., 0] / 2), torch.sin(a[..., 0] / 2)
    if config.rotations == "ry":
        m = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
        return m if real else m.to(_complex_dtype(rot.dtype))
    if real:
        raise ValueError("only RY rotations are real")
    if config.rotations == "ryrz":  # RZ(b) RY(a)
        p = torch.exp(-0.5j * a[..., 1])
        return torch.stack([torch.stack([p * c, -p * s], -1), torch.stack([p.conj() * s, p.conj() * c], -1)], -2)
    # Rot(φ, θ, ω) = RZ(ω) RY(θ) RZ(φ): c, s above are those of θ = a[..., 1]
    phi, theta, omega = a[..., 0], a[..., 1], a[..., 2]
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    e_plus, e_minus = torch.exp(-0.5j * (phi + omega)), torch.exp(0.5j * (phi - omega))
    return torch.stack([torch.stack([e_plus * c, -e_minus * s], -1),
                        torch.stack([e_minus.conj() * s, e_plus.conj() * c], -1)], -2)


def _kron_wires(mats: torch.Tensor) -> torch.Tensor:
    """Kronecker product over the wire axis, wire 0 most significant: (L, n, 2, 2) → (L, D, D)."""
    out = mats[:, 0]
    for q in range(1, mats.shape[1]):
        L, d = out.shape[0], out.shape[1]
        out = (out[:, :, None, :, None] * mats[:, q, None, :, None, :]).reshape(L, 2 * d, 2 * d)
    return out


def _entangle(config: AnsatzConfig, m: torch.Tensor, layer: int, a: torch.Tensor | None,
              b: torch.Tensor | None) -> torch.Tensor:
    """Apply layer ``layer``'s entangler from the left to the (D, K) matrix ``m``."""
    if config.entanglement == "none":
        return m
    idx, _ = _entangler_indices(config, m.device)
    if config.entanglement == "cnot_ring":
        return m[idx]
    for g in range(idx.shape[0]):
        m = a[layer, g, :, None] * m + b[layer, g, :, None] * m[idx[g]]
    return m


def _crx_coefficients(config: AnsatzConfig, ent: torch.Tensor, device: torch.device):
    """Per-row CRX coefficients (a, b), each (L, G, D) complex, or (None, None) without CRX."""
    if not config.learnable_entanglement:
        return None, None
    _, ctrl = _entangler_indices(config, device)
    half = ent[..., None] / 2  # (L, G, 1)
    a = torch.where(ctrl, torch.cos(half), torch.ones_like(half)).to(_complex_dtype(ent.dtype))
    b = torch.where(ctrl, torch.sin(half), torch.zeros_like(half)) * (-1j)
    return a, b


def _evolve(config: AnsatzConfig, m: torch.Tensor | None, rot: torch.Tensor, ent: torch.Tensor,
            n_layers: int, real: bool) -> list[torch.Tensor]:
    """Apply layers 1..n_layers to ``m`` (D, K) (``None`` = identity); returns the matrix after each."""
    rots = _kron_wires(rotation_matrices(config, rot[:n_layers], real=real))  # (L, D, D)
    a, b = _crx_coefficients(config, ent, rot.device)
    out = []
    for layer in range(n_layers):
        m = rots[layer] if m is None else rots[layer] @ m
        m = _entangle(config, m, layer, a, b)
        out.append(m)
    return out


def circuit_unitary(config: AnsatzConfig, rot: torch.Tensor, ent: torch.Tensor) -> torch.Tensor:
    """The trainable part ``U(θ)`` of the circuit (everything after the encoding).

    Args:
        rot: raw rotation parameters (L, n, k); float32 or float64.
        ent: raw CRX angles (L, G) (G = 0 without learnable entanglement).

    Returns:
        (D, D) unitary; real dtype for real circuits (:func:`is_real_circuit`), else complex.
    """
    return _evolve(config, None, rot, ent, config.n_layers, is_real_circuit(config))[-1]


def encoded_states(config: AnsatzConfig, z: torch.Tensor, real: bool = False) -> torch.Tensor:
    """Product states after the noise-injection layer.

    Args:
        z: noise (S, n) (any real values; the generator draws them uniform in [-1, 1]).
        real: return real amplitudes (only valid for ``encoding="ry_uniform"``).

    Returns:
        (S, D) amplitudes, complex unless ``real``.
    """
    half = math.pi * z / 2
    c, s = torch.cos(half), torch.sin(half)
    if config.encoding == "ry_uniform":
        v = torch.stack([c, s], -1)
        v = v if real else v.to(_complex_dtype(z.dtype))
    elif real:
        raise ValueError("only the ry_uniform encoding is real")
    elif config.encoding == "rxrz_uniform":  # RZ(πz) RX(πz)|0⟩
        p = torch.exp(-1j * half)
        v = torch.stack([p * c, p.conj() * (-1j) * s], -1)
    else:  # "h_rz_uniform": RZ(πz) H|0⟩
        p = torch.exp(-1j * half) / math.sqrt(2)
        v = torch.stack([p, p.conj()], -1)
    out = v[:, 0]
    for q in range(1, config.n_qubits):
        out = (out[:, :, None] * v[:, q, None, :]).reshape(out.shape[0], -1)
    return out


def _squared_modulus(x: torch.Tensor) -> torch.Tensor:
    return x * x if not x.is_complex() else x.real**2 + x.imag**2


def circuit_probs(config: AnsatzConfig, z: torch.Tensor, rot: torch.Tensor, ent: torch.Tensor) -> torch.Tensor:
    """Measurement probabilities for a batch of noise draws (the fast path).

    Args:
        z: noise (S, n) or (n,).
        rot: raw rotation parameters (L, n, k).
        ent: raw CRX angles (L, G).

    Returns:
        (S, 2**n) probabilities (or (2**n,) for 1-D ``z``), dtype of ``rot``; differentiable in
        ``rot``, ``ent`` and ``z``.
    """
    if z.shape[-1] != config.n_qubits or z.dim() not in (1, 2):
        raise ValueError(f"z must have shape (S, {config.n_qubits}) or ({config.n_qubits},), got {tuple(z.shape)}")
    real = is_real_circuit(config)
    u = circuit_unitary(config, rot, ent)
    phi = encoded_states(config, z.reshape(-1, config.n_qubits).to(rot.dtype), real=real)
    p = _squared_modulus(phi @ u.transpose(0, 1))
    return p.reshape(*z.shape[:-1], config.dim)


def layer_states(config: AnsatzConfig, params: Mapping[str, Any], z: Any) -> list[tuple[str, np.ndarray]]:
    """Basis-state probabilities along the circuit for one noise draw (the step-through view).

    Args:
        config: The ansatz.
        params: ``{"rot": (L, n, k), "ent": (L, G)}`` raw parameters (tensors or arrays), e.g.
            ``QuantumWeightGenerator.circuit_params()`` or :func:`qcbnn_core.ansatz.init_params`.
        z: one noise vector (n,).

    Returns:
        ``[(label, probs (2**n,)), …]``: the initial state, after the encoding, after each layer
        (the last entry is the measurement distribution).
    """
    rot = torch.as_tensor(np.asarray(params["rot"]) if not torch.is_tensor(params["rot"]) else params["rot"],
                          dtype=torch.float64).detach()
    ent = torch.as_tensor(np.asarray(params["ent"]) if not torch.is_tensor(params["ent"]) else params["ent"],
                          dtype=torch.float64).detach()
    if tuple(rot.shape) != config.param_shapes["rot"] or tuple(ent.shape) != config.param_shapes["ent"]:
        raise ValueError(f"params must have shapes {config.param_shapes}, got rot {tuple(rot.shape)}, "
                         f"ent {tuple(ent.shape)}")
    z = torch.as_tensor(np.asarray(z, dtype=np.float64)).reshape(-1)
    if z.shape != (config.n_qubits,):
        raise ValueError(f"z must have shape ({config.n_qubits},), got {tuple(z.shape)}")
    phi = encoded_states(config, z[None])[0]
    start = torch.zeros(config.dim, dtype=torch.float64)
    start[0] = 1.0
    out = [(f"start |{'0' * config.n_qubits}⟩", start.numpy()),
           ("after encoding z = (" + ", ".join(f"{v:.2f}" for v in z.tolist()) + ")", _squared_modulus(phi).numpy())]
    with torch.no_grad():
        states = _evolve(config, phi[:, None], rot, ent, config.n_layers, real=False)
    for layer, m in enumerate(states, 1):
        label = f"after layer {layer}" + (" = measurement" if layer == config.n_layers else "")
        out.append((label, _squared_modulus(m[:, 0]).numpy()))
    return out
