"""Quantum-classical Bayesian neural networks (QCBNN): circuits, models, training, metrics.

No Streamlit in here: pages, notebooks and the CLI all call these functions.
"""
from .ansatz import PRESETS as ANSATZ_PRESETS, AnsatzConfig, init_params, preset as ansatz_preset
from .circuit import make_qnode
from .drawing import draw_mpl, draw_text
from .generator import QuantumWeightGenerator
from .simulator import circuit_probs, layer_states

__all__: list[str] = [
    "ANSATZ_PRESETS", "AnsatzConfig", "QuantumWeightGenerator", "ansatz_preset", "circuit_probs", "draw_mpl",
    "draw_text", "init_params", "layer_states", "make_qnode",
]
