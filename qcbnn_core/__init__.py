"""Quantum-classical Bayesian neural networks (QCBNN): circuits, models, training, metrics.

No Streamlit in here: pages, notebooks and the CLI all call these functions. ``qcbnn_core.study``
(multi-seed comparisons) is imported on its own: it pulls in scipy, which a trainer does not need.
"""
from .ansatz import PRESETS as ANSATZ_PRESETS, AnsatzConfig, init_params, preset as ansatz_preset
from .circuit import make_qnode
from .drawing import draw_mpl, draw_text
from .generator import ClassicalWeightGenerator, QuantumWeightGenerator
from .simulator import circuit_probs, layer_states
# models, objectives, metrics, training, runs (helper "qcbnn-models")
from .data import (
    QCBNNDataset, Split, load_breast_cancer_tabular, load_breastmnist, load_dataset, load_digits_pair, make_phantom,
)
from .metrics import Evaluation, evaluate, per_sample_uncertainty, reliability, uncertainty_gap
from .models import MCNet, ModelConfig, build_model
from .objectives import Objective, beta_schedule, expected_nll, gaussian_kl
from .runs import RunRecord, load_run, save_run
from .trainer import TqdmCallback, TrainConfig, Trainer, train

__all__: list[str] = [
    "ANSATZ_PRESETS", "AnsatzConfig", "ClassicalWeightGenerator", "QuantumWeightGenerator", "ansatz_preset",
    "circuit_probs", "draw_mpl", "draw_text", "init_params", "layer_states", "make_qnode",
    "Evaluation", "MCNet", "ModelConfig", "Objective", "QCBNNDataset", "RunRecord", "Split", "TqdmCallback", "TrainConfig",
    "Trainer", "beta_schedule", "build_model", "evaluate", "expected_nll", "gaussian_kl", "load_breast_cancer_tabular",
    "load_breastmnist", "load_dataset", "load_digits_pair", "load_run", "make_phantom", "per_sample_uncertainty",
    "reliability", "save_run", "train", "uncertainty_gap",
]
