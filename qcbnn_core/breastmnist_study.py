"""The pre-registered BreastMNIST study: which runs it trains, how it selects, what it confirms.

Protocol (committed before any result): ``docs/qcbnn_breastmnist_protocol.md``; every constant here is a
constant there. Runner: ``benchmarks/qcbnn_breastmnist_study.py``. The selection reads the **validation**
split only; the verdict reads the **test** split of the confirmation seeds only.

* Stage 1a (seeds 0–4): the five circuit families at their defaults, and the controls (MLP, BNN, CNN).
* Stage 1b (seeds 0–4): one factor at a time around the stage-1a family — qubits, layers, the circuit's
  learning rate and the weight draws per step — to give the quantum model its best fair chance.
* Stage 2 (seeds 10–21, never used before): the selected configuration, the paper's default QCBNN, the MLP
  control, the BNN and the CNN; :func:`qcbnn_core.study.verdict` reads it.
"""
from __future__ import annotations

import math
from collections.abc import Iterable

from .ansatz import DEFAULT_PRESET, PRESETS
from .models import ModelConfig
from .study import RunSpec
from .trainer import TrainConfig

DATA = {"name": "breastmnist", "digits": (3, 8)}
SELECTION_SEEDS = (0, 1, 2, 3, 4)
CONFIRMATION_SEEDS = tuple(range(10, 22))
FAMILIES = tuple(sorted(PRESETS))
CONTROLS = ("mlp", "bnn", "cnn")
PAPER_DEFAULT = f"qcbnn:{DEFAULT_PRESET}"
# One factor at a time around the stage-1a family (defaults: 6 qubits, 3 layers, circuit lr = lr = 0.01, S = 8).
FACTORS: dict[str, tuple[dict, dict]] = {
    "q4": ({"n_qubits": 4}, {}),
    "q8": ({"n_qubits": 8}, {}),
    "l1": ({"n_layers": 1}, {}),
    "l6": ({"n_layers": 6}, {}),
    "lrq0.003": ({}, {"lr_generator": 0.003}),
    "lrq0.03": ({}, {"lr_generator": 0.03}),
    "s32": ({}, {"n_samples_train": 32}),
}
MEASURE = "predictive_entropy"


def train_kwargs(**changes) -> dict:
    """The study's TrainConfig keyword arguments (the defaults: 30 epochs, batch 32, Adam 0.01, S = 8)."""
    base = TrainConfig().to_dict()
    base.pop("seed")
    base.update(changes, device="cpu")
    return base


def _spec(label: str, model: ModelConfig, seed: int, **train_changes) -> RunSpec:
    return RunSpec(label, model.to_dict(), train_kwargs(**train_changes), dict(DATA), seed)


def model_for(label: str) -> ModelConfig:
    """The model of a family or control label (``"qcbnn:ry_crx"``, ``"mlp"``, ``"bnn"``, ``"cnn"``)."""
    kind, _, family = label.partition(":")
    return ModelConfig(kind=kind, ansatz=family or DEFAULT_PRESET)


def variant(family_label: str, factor: str) -> tuple[str, ModelConfig, dict]:
    """A stage-1b configuration: its label (``"qcbnn:ry_crx+q8"``), model and TrainConfig changes."""
    model_changes, train_changes = FACTORS[factor]
    base = model_for(family_label)
    return f"{family_label}+{factor}", base.replace(ansatz_overrides=dict(model_changes)), dict(train_changes)


def stage1a_specs(seeds: Iterable[int] = SELECTION_SEEDS) -> list[RunSpec]:
    """Families at their defaults and the controls, seed by seed (a partial stage stays balanced)."""
    labels = [f"qcbnn:{f}" for f in FAMILIES] + list(CONTROLS)
    return [_spec(label, model_for(label), s) for s in seeds for label in labels]


def stage1b_specs(family_label: str, seeds: Iterable[int] = SELECTION_SEEDS) -> list[RunSpec]:
    """The factor variants around ``family_label``, seed by seed."""
    out = []
    for s in seeds:
        for factor in FACTORS:
            label, model, train = variant(family_label, factor)
            out.append(_spec(label, model, s, **train))
    return out


def _val_score(rows: list[dict]) -> float | None:
    """Mean validation gap of one configuration's runs; None when it may not be selected (a collapsed
    run, or the gap undefined on any seed: no wrong or no right validation prediction)."""
    gaps = [r["val"]["gap"][MEASURE] for r in rows]
    if any(r["val"]["collapsed"] for r in rows) or any(g is None or not math.isfinite(g) for g in gaps):
        return None
    return sum(gaps) / len(gaps)


def rank(records: list[dict], labels: Iterable[str], seeds: Iterable[int] = SELECTION_SEEDS) -> list[tuple[str, float]]:
    """Selectable configurations among ``labels`` with every seed of ``seeds`` done, best first by mean
    validation predictive-entropy gap."""
    seeds = set(seeds)
    out = []
    for label in labels:
        rows = [r for r in records if r["model"] == label and r["seed"] in seeds]
        if {r["seed"] for r in rows} != seeds:
            continue
        score = _val_score(rows)
        if score is not None:
            out.append((label, score))
    return sorted(out, key=lambda t: -t[1])


def stage1a_family(records: list[dict]) -> str | None:
    """The family stage 1b varies around: the best of the five families (None until all are done or if
    every family collapsed)."""
    labels = [f"qcbnn:{f}" for f in FAMILIES]
    if not all({r["seed"] for r in records if r["model"] == label} >= set(SELECTION_SEEDS) for label in labels):
        return None
    ranked = rank(records, labels)
    return ranked[0][0] if ranked else None


def selected(records: list[dict]) -> str | None:
    """The configuration stage 2 confirms: the best of the stage-1a family and its seven variants
    (None until stage 1b is complete)."""
    family = stage1a_family(records)
    if family is None:
        return None
    labels = [family] + [variant(family, f)[0] for f in FACTORS]
    if not all({r["seed"] for r in records if r["model"] == label} >= set(SELECTION_SEEDS) for label in labels):
        return None
    ranked = rank(records, labels)
    return ranked[0][0] if ranked else family


def config_of(label: str) -> tuple[ModelConfig, dict]:
    """Model and TrainConfig changes of any stage-1 label (family, control or variant)."""
    base, _, factor = label.partition("+")
    if factor:
        _, model, train = variant(base, factor)
        return model, train
    return model_for(base), {}


def stage2_specs(choice: str, seeds: Iterable[int] = CONFIRMATION_SEEDS) -> list[RunSpec]:
    """The selected configuration, the paper's default QCBNN (if different) and the controls, seed by seed."""
    labels = list(dict.fromkeys([choice, PAPER_DEFAULT, *CONTROLS]))
    out = []
    for s in seeds:
        for label in labels:
            model, train = config_of(label)
            out.append(_spec(label, model, s, **train))
    return out
