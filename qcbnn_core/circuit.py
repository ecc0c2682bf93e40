"""The PennyLane definition of the weight-generating circuit: the REFERENCE implementation.

The fast torch path in :mod:`qcbnn_core.simulator` must reproduce these probabilities and
their gradients (tests compare to 1e-6 in float64). PennyLane is imported inside the
functions because importing it takes seconds and most callers only need the fast path.
"""
from __future__ import annotations

import math
from typing import Any

from .ansatz import AnsatzConfig

QNODE_DEVICES = ("default.qubit", "lightning.qubit")


def apply_encoding(config: AnsatzConfig, z: Any) -> None:
    """Queue the noise-injection gates; ``z``: (n,) or broadcast (S, n)."""
    import pennylane as qml

    for q in range(config.n_qubits):
        angle = math.pi * z[..., q]
        if config.encoding == "ry_uniform":
            qml.RY(angle, wires=q)
        elif config.encoding == "rxrz_uniform":
            qml.RX(angle, wires=q)
            qml.RZ(angle, wires=q)
        else:  # "h_rz_uniform"
            qml.Hadamard(wires=q)
            qml.RZ(angle, wires=q)


def apply_layer(config: AnsatzConfig, layer: int, rot: Any, ent: Any) -> None:
    """Queue trainable layer ``layer``: rotations on every wire, then the entangler.

    Args:
        rot: raw rotation parameters (L, n, k); constrained via ``config.angles``.
        ent: raw entangler angles (L, G).
    """
    import pennylane as qml

    angles = config.angles(rot[layer])
    for q in range(config.n_qubits):
        a = angles[q]
        if config.rotations == "ry":
            qml.RY(a[0], wires=q)
        elif config.rotations == "ryrz":
            qml.RY(a[0], wires=q)
            qml.RZ(a[1], wires=q)
        else:
            qml.Rot(a[0], a[1], a[2], wires=q)
    for g, (c, t) in enumerate(config.entangler_pairs):
        if config.entanglement == "cnot_ring":
            qml.CNOT(wires=[c, t])
        else:
            qml.CRX(ent[layer, g], wires=[c, t])


def make_qnode(config: AnsatzConfig, device: str = "default.qubit", diff_method: str | None = None,
               shots: int | None = None, n_layers: int | None = None):
    """Build the reference QNode ``circuit(z, rot, ent) -> probabilities``.

    Args:
        config: The ansatz.
        device: ``"default.qubit"`` (supports parameter broadcasting and backprop) or
            ``"lightning.qubit"`` (C++ simulator).
        diff_method: PennyLane differentiation method; default ``"backprop"`` on default.qubit,
            ``"parameter-shift"`` on lightning.qubit (its adjoint method does not support
            ``qml.probs``), ``None`` when ``shots`` is given (counts are not differentiable).
        shots: ``None`` for exact probabilities; an integer returns ``qml.counts`` of
            bitstrings (dict ``"010…" -> count``) instead.
        n_layers: Truncate the circuit after this many layers (default: all; 0 = encoding only).

    Returns:
        A torch-interface QNode. With ``shots=None``: ``circuit(z (n,) or (S, n), rot (L, n, k),
        ent (L, G)) -> probs (2**n,) or (S, 2**n)``.

    Raises:
        ValueError: for an unknown device or a bad ``n_layers``/``shots``.
    """
    import pennylane as qml

    if device not in QNODE_DEVICES:
        raise ValueError(f"device must be one of {list(QNODE_DEVICES)}, got {device!r}")
    layers = config.n_layers if n_layers is None else n_layers
    if not 0 <= layers <= config.n_layers:
        raise ValueError(f"n_layers must be in 0..{config.n_layers}, got {n_layers!r}")
    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 1):
        raise ValueError(f"shots must be None or a positive integer, got {shots!r}")
    if diff_method is None:
        diff_method = None if shots is not None else ("backprop" if device == "default.qubit" else "parameter-shift")
    dev = qml.device(device, wires=config.n_qubits)
    wires = list(range(config.n_qubits))

    def circuit(z, rot, ent):
        apply_encoding(config, z)
        for layer in range(layers):
            apply_layer(config, layer, rot, ent)
        return qml.probs(wires=wires) if shots is None else qml.counts(wires=wires)

    qnode = qml.QNode(circuit, dev, interface="torch", diff_method=diff_method)
    return qnode if shots is None else qml.set_shots(qnode, shots=shots)
