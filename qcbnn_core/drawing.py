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


def block_columns(config: AnsatzConfig, params: Mapping[str, Any] | None = None,
                  z: Any | None = None) -> list[tuple[int, int]]:
    """The drawing columns each block of the circuit occupies in :func:`draw_mpl`.

    PennyLane's drawers pack gates into columns ("drawable layers"); column i is drawn at x = i and
    the measurements one column after the last. A layer's gates may share a column with the
    previous layer's last entangling gates, so neighbouring spans can overlap by a column.

    Returns:
        ``[(first, last), …]``: index 0 the encoding, index k layer k (1..n_layers), and last the
        measurement column ``(n, n)``.
    """
    import pennylane as qml
    from pennylane.drawer.drawable_layers import drawable_layers

    args = _drawing_args(config, params, z)
    ops = qml.workflow.construct_tape(make_qnode(config))(*args).operations
    columns = {id(op): i for i, layer in enumerate(drawable_layers(ops)) for op in layer}
    # Truncated circuits (n_layers = k) are prefixes of the full one: their op counts mark the blocks.
    ends = [len(qml.workflow.construct_tape(make_qnode(config, n_layers=k))(*args).operations)
            for k in range(config.n_layers + 1)]
    starts = [0, *ends[:-1]]
    spans = [(min(columns[id(op)] for op in ops[a:b]), max(columns[id(op)] for op in ops[a:b]))
             for a, b in zip(starts, ends)]
    n_columns = max(columns.values()) + 1
    return [*spans, (n_columns, n_columns)]


HIGHLIGHT_COLOR = "#ffd54f"


def draw_mpl(config: AnsatzConfig, params: Mapping[str, Any] | None = None, z: Any | None = None,
             decimals: int | None = None, style: str = "pennylane", highlight: int | None = None):
    """Matplotlib figure (``qml.draw_mpl``) of the circuit; arguments as :func:`draw_text`.

    Args:
        highlight: a block of :func:`block_columns` to shade (0 = encoding, k = layer k,
            ``n_layers + 1`` = measurement), e.g. the step a student is looking at; None shades nothing.

    Returns:
        matplotlib ``Figure`` (the caller closes it, e.g. ``plt.close(fig)``).

    Raises:
        ValueError: ``highlight`` outside 0..n_layers + 1.
    """
    import pennylane as qml

    if highlight is not None and not 0 <= highlight <= config.n_layers + 1:
        raise ValueError(f"highlight must be a block in 0..{config.n_layers + 1}, got {highlight}")
    fig, ax = qml.draw_mpl(make_qnode(config), decimals=decimals, style=style)(*_drawing_args(config, params, z))
    if highlight is not None:
        first, last = block_columns(config, params, z)[highlight]
        ax.axvspan(first - 0.45, last + 0.45, color=HIGHLIGHT_COLOR, alpha=0.45, zorder=-1)
        name = "encoding" if highlight == 0 else "measurement" if highlight > config.n_layers else f"layer {highlight}"
        ax.text((first + last) / 2, -0.75, name, ha="center", va="center", fontsize=12, fontweight="bold")
    return fig
