"""Circuit diagrams of an :class:`AnsatzConfig` via PennyLane's drawers (text and matplotlib)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from .ansatz import AnsatzConfig, init_params
from .circuit import make_qnode


def _drawing_args(config: AnsatzConfig, params: Mapping[str, Any] | None, z: Any | None):
    params = init_params(config, seed=0) if params is None else params
    z = torch.zeros(config.n_qubits, dtype=torch.float64) if z is None else torch.as_tensor(z, dtype=torch.float64)
    if z.shape != (config.n_qubits,):
        raise ValueError(f"z must have shape ({config.n_qubits},), got {tuple(z.shape)}")
    return z, torch.as_tensor(params["rot"], dtype=torch.float64), torch.as_tensor(params["ent"], dtype=torch.float64)


def draw_text(config: AnsatzConfig, params: Mapping[str, Any] | None = None, z: Any | None = None,
              decimals: int | None = 2, max_length: int = 1000) -> str:
    """ASCII/Unicode diagram (``qml.draw``) of the circuit.

    Args:
        config: The ansatz.
        params: ``{"rot", "ent"}`` raw parameters shown as gate angles (default: ``init_params(seed=0)``).
        z: Noise vector (n,) for the encoding gates (default: zeros).
        decimals: Angle digits to print; ``None`` hides the angles.
        max_length: Line width after which PennyLane wraps the diagram into blocks.
    """
    import pennylane as qml

    return qml.draw(make_qnode(config), decimals=decimals, max_length=max_length)(*_drawing_args(config, params, z))


def draw_mpl(config: AnsatzConfig, params: Mapping[str, Any] | None = None, z: Any | None = None,
             decimals: int | None = None, style: str = "pennylane"):
    """Matplotlib figure (``qml.draw_mpl``) of the circuit; arguments as :func:`draw_text`.

    Returns:
        matplotlib ``Figure`` (the caller closes it, e.g. ``plt.close(fig)``).
    """
    import pennylane as qml

    fig, _ = qml.draw_mpl(make_qnode(config), decimals=decimals, style=style)(*_drawing_args(config, params, z))
    return fig
