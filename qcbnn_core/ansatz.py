"""Configuration of the parametrised quantum circuit (PQC) that generates Bayesian weights.

One :class:`AnsatzConfig` describes a circuit completely; the PennyLane reference
(:mod:`qcbnn_core.circuit`) and the fast torch simulator (:mod:`qcbnn_core.simulator`) both
read it, so the two cannot drift apart silently (tests compare them to 1e-6).

Circuit, on ``n_qubits`` wires (wire 0 is the most significant bit of a basis-state index,
as in PennyLane)::

    |0…0⟩ → encoding(z) → [rotations(θ_l) → entangler(φ_l)] × n_layers → measure

* **encoding** injects classical noise ``z ∈ [-1, 1]^n_qubits`` (one number per qubit):
  ``"ry_uniform"``: RY(π z_q); ``"rxrz_uniform"``: RX(π z_q) then RZ(π z_q);
  ``"h_rz_uniform"``: H then RZ(π z_q) (pure phase noise; probabilities change only once
  the trainable layers interfere the phases).
* **rotations** per qubit and layer: ``"ry"`` RY(a); ``"ryrz"`` RY(a) then RZ(b);
  ``"rot"`` PennyLane's general ``Rot(φ, θ, ω) = RZ(ω) RY(θ) RZ(φ)``.
  With ``angle_range=r`` every rotation angle is ``r · tanh(raw)`` (constrained to (-r, r));
  with ``None`` the raw parameter is the angle.
* **entangler** per layer: ``"none"``; ``"cnot_ring"`` fixed CNOT(q, q+1 mod n);
  ``"crx_ring"`` learnable CRX(φ)(q, q+1 mod n); ``"all_to_all"`` learnable CRX(φ)(i, j) for
  every pair i < j (our choice: the all-to-all variant is learnable too, like the ring, so the
  two learnable designs differ only in connectivity). Entangler angles are never constrained
  (the paper's "constrained rotations" are the single-qubit ones). For two qubits a ring is the
  single gate (0, 1).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

from labkit.config import Config

ROTATIONS: dict[str, int] = {"ry": 1, "ryrz": 2, "rot": 3}
"""Rotation set → number of angles per qubit and layer."""
ENTANGLEMENTS: tuple[str, ...] = ("none", "cnot_ring", "crx_ring", "all_to_all")
ENCODINGS: tuple[str, ...] = ("ry_uniform", "rxrz_uniform", "h_rz_uniform")
# The fast path keeps a (layers, 2^n, 2^n) complex stack per entangling gate for autograd: 1.5 MB
# per gate at n = 8 (3 layers, complex64), 16x more per 2 extra qubits: too much for a shared server.
MAX_QUBITS = 8


@dataclass(frozen=True)
class AnsatzConfig(Config):
    """A weight-generating circuit.

    Args:
        n_qubits: Number of wires (1–8); the circuit has ``2**n_qubits`` basis states.
        n_layers: Number of trainable [rotations → entangler] layers (1–20).
        rotations: ``"ry"``, ``"ryrz"`` or ``"rot"`` (see module docstring).
        angle_range: ``None`` (unconstrained) or ``r > 0``: rotation angles are ``r·tanh(raw)``.
        entanglement: ``"none"``, ``"cnot_ring"``, ``"crx_ring"`` or ``"all_to_all"``.
        encoding: ``"ry_uniform"``, ``"rxrz_uniform"`` or ``"h_rz_uniform"``.

    Raises:
        ValueError: on an unknown option or an out-of-range number.
    """

    n_qubits: int = 6
    n_layers: int = 3
    rotations: str = "ry"
    angle_range: float | None = None
    entanglement: str = "crx_ring"
    encoding: str = "ry_uniform"

    def __post_init__(self) -> None:
        for name, high in (("n_qubits", MAX_QUBITS), ("n_layers", 20)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= high:
                raise ValueError(f"{name} must be an integer in 1..{high}, got {value!r}")
            self._normalise(name, int(value))  # numpy integers → int, so configs hash alike
        if self.rotations not in ROTATIONS:
            raise ValueError(f"rotations must be one of {sorted(ROTATIONS)}, got {self.rotations!r}")
        if self.angle_range is not None:
            r = self.angle_range
            if isinstance(r, bool) or not isinstance(r, numbers.Real) or not (math.isfinite(r) and r > 0):
                raise ValueError(f"angle_range must be None or a positive finite number, got {r!r}")
            self._normalise("angle_range", float(r))
        if self.entanglement not in ENTANGLEMENTS:
            raise ValueError(f"entanglement must be one of {list(ENTANGLEMENTS)}, got {self.entanglement!r}")
        if self.entanglement != "none" and self.n_qubits < 2:
            raise ValueError(f"entanglement {self.entanglement!r} needs at least 2 qubits; use entanglement='none'")
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {list(ENCODINGS)}, got {self.encoding!r}")

    @property
    def dim(self) -> int:
        """Number of basis states, ``2**n_qubits``."""
        return 2**self.n_qubits

    @property
    def entangler_pairs(self) -> list[tuple[int, int]]:
        """(control, target) wires of one layer's two-qubit gates, in application order."""
        n = self.n_qubits
        if self.entanglement == "none":
            return []
        if self.entanglement == "all_to_all":
            return [(i, j) for i in range(n) for j in range(i + 1, n)]
        return [(0, 1)] if n == 2 else [(q, (q + 1) % n) for q in range(n)]

    @property
    def learnable_entanglement(self) -> bool:
        """Whether the entangling gates carry trainable angles (CRX)."""
        return self.entanglement in ("crx_ring", "all_to_all")

    @property
    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the raw circuit parameters: ``rot (L, n, k)`` and ``ent (L, G)`` (G may be 0)."""
        n_ent = len(self.entangler_pairs) if self.learnable_entanglement else 0
        return {"rot": (self.n_layers, self.n_qubits, ROTATIONS[self.rotations]), "ent": (self.n_layers, n_ent)}

    @property
    def n_params(self) -> int:
        """Total number of trainable circuit parameters."""
        return sum(math.prod(s) for s in self.param_shapes.values())

    def angles(self, rot: torch.Tensor) -> torch.Tensor:
        """Map raw rotation parameters to angles: identity, or ``angle_range·tanh(raw)``."""
        return rot if self.angle_range is None else self.angle_range * torch.tanh(rot)

    def describe(self) -> str:
        """One-line human-readable summary, e.g. for a page caption."""
        rng = "unconstrained" if self.angle_range is None else f"angles in ±{self.angle_range:.3g}"
        return (f"{self.n_qubits} qubits, {self.n_layers} layers, {self.rotations.upper()} rotations ({rng}), "
                f"entanglement {self.entanglement}, encoding {self.encoding}, {self.n_params} parameters")


def init_params(config: AnsatzConfig, seed: int = 0, dtype: torch.dtype = torch.float64,
                device: str | torch.device = "cpu") -> dict[str, torch.Tensor]:
    """Random raw circuit parameters, deterministic in ``seed``.

    Rotations start uniform in (-π, π) (or raw values in (-1, 1) when constrained, i.e. angles
    within ±0.76·range); CRX angles start uniform in (-π/2, π/2).

    Returns:
        ``{"rot": (L, n, k), "ent": (L, G)}`` tensors of ``dtype`` on ``device``.
    """
    gen = torch.Generator().manual_seed(int(seed))
    shapes = config.param_shapes
    rot_scale = math.pi if config.angle_range is None else 1.0
    rot = (torch.rand(shapes["rot"], generator=gen, dtype=torch.float64) * 2 - 1) * rot_scale
    ent = (torch.rand(shapes["ent"], generator=gen, dtype=torch.float64) * 2 - 1) * (math.pi / 2)
    return {"rot": rot.to(device=device, dtype=dtype), "ent": ent.to(device=device, dtype=dtype)}


PRESETS: dict[str, AnsatzConfig] = {
    "ry_cnot": AnsatzConfig(rotations="ry", entanglement="cnot_ring"),
    "ry_crx": AnsatzConfig(rotations="ry", entanglement="crx_ring"),
    "constrained_crx": AnsatzConfig(rotations="ry", angle_range=math.pi / 2, entanglement="crx_ring"),
    "rot_all_to_all": AnsatzConfig(rotations="rot", entanglement="all_to_all"),
    "ryrz_product": AnsatzConfig(rotations="ryrz", entanglement="none"),
}
"""Named 6-qubit, 3-layer designs. ``"constrained_crx"`` (learnable entanglement + constrained
rotations) mirrors the family the paper reports as best; ``"ryrz_product"`` has no entanglement
(a product of independent qubits) as a control."""
DEFAULT_PRESET = "constrained_crx"


def preset(name: str, **overrides) -> AnsatzConfig:
    """The named preset, optionally with fields overridden (e.g. ``n_qubits=4``).

    Raises:
        ValueError: for an unknown preset name or invalid overrides.
    """
    if name not in PRESETS:
        raise ValueError(f"unknown ansatz preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name].replace(**overrides) if overrides else PRESETS[name]
