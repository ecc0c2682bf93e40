"""What a QCBNN run directory must hold, checked in one place for the library and the pages alike.

:func:`~qcbnn_core.runs.load_run` calls :func:`check_run` on every directory it reads, so a run that
loads is one the charts can draw: known model kinds and mechanisms, configs that validate, every
per-sample array of the test split with one length, labels and predictions in {0, 1}, probabilities in
[0, 1], one weight snapshot per epoch plus the one before training. Anything else is refused with one
message naming the file and the field (``predictions.npz: label: values must lie in [0, 1], found -3 …``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from labkit import fields as f

from .ansatz import preset
from .metrics import UNCERTAINTY_MEASURES
from .models import ModelConfig
from .trainer import TrainConfig

PER_SAMPLE = ("p_positive", "pred", "correct", "label", *UNCERTAINTY_MEASURES)
PREDICTION_MEMBERS = ("probs", *PER_SAMPLE)
SCORES = {"accuracy": (0, 1), "balanced_accuracy": (0, 1), "auroc": (0, 1), "nll": (0, math.inf),
          "brier": (0, 2), "ece": (0, 1)}
GAP_FIELDS = ("gap", "ci_low", "ci_high", "mean_wrong", "mean_right")
# What a viewer can draw (every test input is a point in a chart); far above any run of this project
# (BreastMNIST's test split has 156 images, the page's runs draw at most 128 weight samples).
MAX_TEST_INPUTS = 20_000
MAX_DRAWS = 4096
MAX_WEIGHTS = 4096
MAX_EPOCHS = 10_000
MAX_INPUT_SIDE = 4096
ROUND_OFF = 1e-6  # float32 probabilities may pass 1 by a few ulps


def _in(file: str, check, *args) -> Any:
    """Run one check; its message gets the file's name in front."""
    try:
        return check(*args)
    except ValueError as err:
        raise ValueError(f"{file}: {err}") from None


def check_run(config: Mapping[str, Any], history: Any, metrics: Any, predictions: Mapping[str, np.ndarray],
              snapshots: np.ndarray) -> None:
    """Refuse a run directory the viewers could not draw honestly.

    Args:
        config: ``config.json`` without its header; history, metrics: the parsed ``history.json`` and
            ``metrics.json``; predictions, snapshots: the arrays of ``predictions.npz`` and ``weights.npz``.

    Raises:
        ValueError: one message naming the file and the first bad field.
    """
    _in("config.json", _config, config)
    epochs = _in("history.json", _history, history)
    n = _in("metrics.json", _metrics, metrics)
    _in("predictions.npz", _predictions, predictions, n)
    _in("weights.npz", _snapshots, snapshots, epochs)


def _config(config: Mapping[str, Any]) -> None:
    f.mapping(config, "the config", ("data", "model", "train"))
    data = f.mapping(config["data"], "data", ("input_shape",))
    shape = f.items(data["input_shape"], "data.input_shape", 1, 3)
    for i, side in enumerate(shape):
        f.number(side, f"data.input_shape[{i}]", 1, MAX_INPUT_SIDE, whole=True)
    if "name" in data:
        f.text(data["name"], "data.name")
    if "device" in config:
        f.text(config["device"], "device")
    for split in ("train", "val", "test"):
        if split in data:
            sizes = f.mapping(data[split], f"data.{split}", ("n", "n_positive"))
            size = f.number(sizes["n"], f"data.{split}.n", 0, 10**7, whole=True)
            f.number(sizes["n_positive"], f"data.{split}.n_positive", 0, size, whole=True)
    f.config_numbers(f.mapping(config["model"], "model"), ModelConfig(), "model")
    f.config_numbers(f.mapping(config["train"], "train"), TrainConfig(), "train")
    try:
        model = ModelConfig.from_dict(config["model"])
        preset(model.ansatz, **model.ansatz_overrides)
    except (ValueError, TypeError) as err:
        raise ValueError(f"model: {err}") from None
    try:
        train = TrainConfig.from_dict(config["train"])
    except (ValueError, TypeError) as err:
        raise ValueError(f"train: {err}") from None
    for key in ("lr", "prior_sigma", "disc_lr", "beta_max"):
        f.number(getattr(train, key), f"train.{key}", 0)
    if "class_names" in config:
        names = f.items(config["class_names"], "class_names", 2, 2)
        for i, name in enumerate(names):
            f.text(name, f"class_names[{i}]")
    if "epochs_done" in config:
        f.number(config["epochs_done"], "epochs_done", 0, train.epochs, whole=True)


def _row(row: Any, field: str, counter: str) -> int:
    """One history record: numbers (or null) under short names; returns its ``counter`` field."""
    f.mapping(row, field, (counter,))
    for key, value in row.items():
        if len(key) > 64:
            raise ValueError(f"{field}: a field name is longer than 64 characters")
        f.number(value, f"{field}.{key}", missing_ok=key != counter)
    return f.number(row[counter], f"{field}.{counter}", 0, 10**9, whole=True)


def _history(history: Any) -> int:
    """The per-epoch and per-step records; returns the number of epochs."""
    f.mapping(history, "the history", ("epochs",))
    epochs = f.items(history["epochs"], "epochs", 1, MAX_EPOCHS)
    for i, row in enumerate(epochs):
        if _row(row, f"epochs[{i}]", "epoch") != i + 1:
            raise ValueError(f"epochs[{i}].epoch: expected {i + 1} (epochs are numbered 1, 2, …)")
    for i, row in enumerate(f.items(history.get("steps", []), "steps", 0, 10**6)):
        _row(row, f"steps[{i}]", "step")
    return len(epochs)


def _metrics(metrics: Any) -> int:
    """The test split's scores (and the validation split's, when saved); returns the test split's size."""
    f.mapping(metrics, "the metrics", ("test",))
    n = 0
    for split in ("test", "val"):
        if split in metrics:
            size = _evaluation(f.mapping(metrics[split], split, ("n", "n_samples", "reliability", "uncertainty_gap")),
                               split)
            n = size if split == "test" else n
    return n


def _evaluation(ev: Mapping[str, Any], name: str) -> int:
    n = f.number(ev["n"], f"{name}.n", 1, MAX_TEST_INPUTS, whole=True)
    f.number(ev["n_samples"], f"{name}.n_samples", 1, MAX_DRAWS, whole=True)
    for key, (lo, hi) in SCORES.items():
        f.number(ev.get(key), f"{name}.{key}", lo, hi, missing_ok=True)
    aurocs = f.mapping(ev.get("error_auroc", {}), f"{name}.error_auroc")
    for key, value in aurocs.items():
        f.text(key, f"{name}.error_auroc key", UNCERTAINTY_MEASURES)
        f.number(value, f"{name}.error_auroc.{key}", 0, 1, missing_ok=True)
    gaps = f.mapping(ev["uncertainty_gap"], f"{name}.uncertainty_gap", UNCERTAINTY_MEASURES)
    for key, gap in gaps.items():
        field = f"{name}.uncertainty_gap.{key}"
        f.text(key, f"{name}.uncertainty_gap key", UNCERTAINTY_MEASURES)
        f.mapping(gap, field, (*GAP_FIELDS, "n_wrong", "n_right"))
        for part in GAP_FIELDS:
            f.number(gap[part], f"{field}.{part}", missing_ok=True)
        wrong = f.number(gap["n_wrong"], f"{field}.n_wrong", 0, n, whole=True)
        if f.number(gap["n_right"], f"{field}.n_right", 0, n, whole=True) + wrong != n:
            raise ValueError(f"{field}: n_wrong + n_right must equal {name}.n = {n}")
    _reliability(f.mapping(ev["reliability"], f"{name}.reliability", ("edges", "count", "confidence", "accuracy")),
                 f"{name}.reliability", n)
    return n


def _reliability(rel: Mapping[str, Any], field: str, n: int) -> None:
    edges = f.items(rel["edges"], f"{field}.edges", 2, 1001)
    bins = len(edges) - 1
    for i, edge in enumerate(edges):
        f.number(edge, f"{field}.edges[{i}]", 0, 1)
    if any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"{field}.edges: expected increasing numbers")
    counts = f.items(rel["count"], f"{field}.count", bins, bins)
    for i, count in enumerate(counts):
        f.number(count, f"{field}.count[{i}]", 0, n, whole=True)
    for key in ("confidence", "accuracy"):
        for i, value in enumerate(f.items(rel[key], f"{field}.{key}", bins, bins)):
            f.number(value, f"{field}.{key}[{i}]", 0, 1, missing_ok=True)


def _predictions(pred: Mapping[str, np.ndarray], n: int) -> None:
    missing = [k for k in PREDICTION_MEMBERS if k not in pred]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    probs = f.array(pred["probs"], "probs", 3, "f", 0, 1 + ROUND_OFF)
    if probs.shape[1:] != (n, 2) or probs.shape[0] > MAX_DRAWS:
        raise ValueError(f"probs: expected shape (draws ≤ {MAX_DRAWS}, {n}, 2) for the {n} test inputs of "
                         f"metrics.json, got {probs.shape}")
    for key in PER_SAMPLE:
        whole = key in ("pred", "correct", "label")
        arr = f.array(pred[key], key, 1, "biu" if whole else "f", 0, 1 if whole else 1 + ROUND_OFF)
        if len(arr) != n:
            raise ValueError(f"{key}: expected {n} values (one per test input of metrics.json), got {len(arr)}")
    if not np.array_equal(pred["correct"].astype(bool), pred["pred"] == pred["label"]):
        raise ValueError("correct: disagrees with pred == label")


def _snapshots(snapshots: np.ndarray, epochs: int) -> None:
    f.array(snapshots, "snapshots", 3, "f")
    if snapshots.shape[1] > MAX_DRAWS or snapshots.shape[2] > MAX_WEIGHTS:
        raise ValueError(f"snapshots: expected at most {MAX_DRAWS} draws of at most {MAX_WEIGHTS} weights, "
                         f"got shape {snapshots.shape}")
    if snapshots.shape[0] != epochs + 1:
        raise ValueError(f"snapshots: expected {epochs + 1} saved draws (before training and after each of the "
                         f"{epochs} epochs in history.json), got {snapshots.shape[0]}")
