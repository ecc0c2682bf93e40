"""Fast batched statevector simulation of an :class:`AnsatzConfig` circuit in pure torch.

Why not just call the QNode: S noise draws through a (broadcast) QNode cost time that grows
with S and carries PennyLane's per-call overhead. Here the *trainable* part of the circuit is
shared by all draws, so it is built once per call as one ``2^n × 2^n`` unitary ``U(θ)`` with a
few dozen batched torch ops, all layers at once (single-qubit rotations as Kronecker products,
each CRX gate as a "diagonal + flipped-row" update of the whole (L, D, D) stack, the CNOT ring as
one row permutation), then L − 1 matmuls; only the
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
def _cnot_ring_permutation(config: AnsatzConfig, device: torch.device) -> torch.Tensor:
    """(D,) row permutation of one CNOT-ring layer: ``(E x)[r] = x[perm[r]]``."""
    n, r = config.n_qubits, torch.arange(config.dim, device=device)
    perm = r.clone()
    for c, t in config.entangler_pairs:  # composing y[r] = x[f(r)] gate after gate gives perm = perm[f]
        perm = perm[r ^ (_bit(r, c, n) << (n - 1 - t))]
    return perm


@functools.lru_cache(maxsize=64)
def _crx_control_masks(config: AnsatzConfig, device: torch.device) -> torch.Tensor:
    """(G, D) bool: whether basis row r has the control bit of CRX gate g set."""
    r = torch.arange(config.dim, device=device)
    return torch.stack([_bit(r, c, config.n_qubits).bool() for c, _ in config.entangler_pairs])


def rotation_matrices(config: AnsatzConfig, rot: torch.Tensor) -> torch.Tensor:
    """Single-qubit rotation matrices of every layer and wire.

    Args:
        rot: raw parameters (L, n, k).

    Returns:
        (L, n, 2, 2) matrices: real for ``rotations="ry"`` (so their Kronecker product is built in
        real arithmetic, then cast once), complex otherwise.
    """
    a = config.angles(rot)
    theta = a[..., 1] if config.rotations == "rot" else a[..., 0]  # the RY angle
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    if config.rotations == "ry":
        return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)
    if config.rotations == "ryrz":  # RZ(b) RY(a)
        p = torch.exp(-0.5j * a[..., 1])
        return torch.stack([torch.stack([p * c, -p * s], -1), torch.stack([p.conj() * s, p.conj() * c], -1)], -2)
    # Rot(φ, θ, ω) = RZ(ω) RY(θ) RZ(φ)
    phi, omega = a[..., 0], a[..., 2]
    e_plus, e_minus = torch.exp(-0.5j * (phi + omega)), torch.exp(0.5j * (phi - omega))
    return torch.stack([torch.stack([e_plus * c, -e_minus * s], -1),
                        torch.stack([e_minus.conj() * s, e_plus.conj() * c], -1)], -2)


def _kron_wires(mats: torch.Tensor) -> torch.Tensor:
    """Kronecker product over the wire axis, wire 0 most significant: (L, n, 2, 2) → (L, D, D)."""
    wires = mats.unbind(1)
    out = wires[0]
    for w in wires[1:]:
        L, d = out.shape[0], out.shape[1]
        out = (out[:, :, None, :, None] * w[:, None, :, None, :]).reshape(L, 2 * d, 2 * d)
    return out


def _crx_coefficients(config: AnsatzConfig, ent: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per CRX gate g, the row coefficients (a, b), each (L, D, 1) complex (all layers at once), of
    ``(M_g x)[r] = a[r] x[r] + b[r] x[r with the target bit flipped]``: (1, 0) where the control
    bit of r is 0, (cos φ/2, −i sin φ/2) where it is 1.

    Built for all gates in a few ops and split with ``unbind`` (whose backward is one ``stack``;
    per-gate indexing would allocate a zero tensor per gate in the backward pass).
    """
    ctrl = _crx_control_masks(config, ent.device)
    half = ent[..., None, None] / 2  # (L, G, 1, 1)
    ctrl = ctrl[..., None]  # (G, D, 1)
    a = torch.where(ctrl, torch.cos(half), torch.ones_like(half)).to(_complex_dtype(ent.dtype))
    b = torch.where(ctrl, torch.sin(half), torch.zeros_like(half)) * (-1j)
    return list(zip(a.unbind(1), b.unbind(1)))


def layer_unitaries(config: AnsatzConfig, rot: torch.Tensor, ent: torch.Tensor, real: bool = False) -> torch.Tensor:
    """Unitary of every trainable layer, ``W_l = E_l R_l`` (entangler after rotations).

    All layers are built together: R_l is a Kronecker product of the per-wire rotations, and each
    entangling gate is applied to the rows of the whole (L, D, D) stack at once, so the number of
    torch ops does not grow with the number of layers.

    Args:
        rot: raw rotation parameters (L, n, k).
        ent: raw CRX angles (L, G).
        real: build real matrices (only for :func:`is_real_circuit` configs).

    Returns:
        (L, D, D) layer unitaries.
    """
    w = _kron_wires(rotation_matrices(config, rot))
    if not real:
        w = w.to(_complex_dtype(rot.dtype))
    if config.entanglement == "none":
        return w
    if config.entanglement == "cnot_ring":
        return w[:, _cnot_ring_permutation(config, w.device)]
    n, (L, D, _) = config.n_qubits, w.shape
    for (_, t), (a, b) in zip(config.entangler_pairs, _crx_coefficients(config, ent)):
        # rows with the target bit flipped: a reshape + flip (cheaper backward than w[:, flip])
        flipped = w.reshape(L, 2**t, 2, 2 ** (n - 1 - t), D).flip(2).reshape(L, D, D)
        w = a * w + b * flipped
    return w


def circuit_unitary(config: AnsatzConfig, rot: torch.Tensor, ent: torch.Tensor) -> torch.Tensor:
    """The trainable part ``U(θ) = W_L … W_1`` of the circuit (everything after the encoding).

    Args:
        rot: raw rotation parameters (L, n, k); float32 or float64.
        ent: raw CRX angles (L, G) (G = 0 without learnable entanglement).

    Returns:
        (D, D) unitary; real dtype for real circuits (:func:`is_real_circuit`), else complex.
    """
    w = layer_unitaries(config, rot, ent, real=is_real_circuit(config)).unbind(0)
    u = w[0]
    for layer in w[1:]:
        u = layer @ u
    return u


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
    psi = phi
    for layer, w in enumerate(layer_unitaries(config, rot, ent), 1):
        psi = w @ psi
        label = f"after layer {layer}" + (" = measurement" if layer == config.n_layers else "")
        out.append((label, _squared_modulus(psi).numpy()))
    return out
